/**
 * The ingress controller add-on, installed when the lab has an Ingress it
 * serves, as `ingress-nginx`'s cloud manifest installs it: a Deployment
 * `ingress-nginx-controller` in namespace `ingress-nginx` (two replicas,
 * a readiness probe on /healthz:10254) behind a LoadBalancer Service with
 * externalTrafficPolicy Local, so the cloud load balancer sends only to
 * nodes running a controller and the controller sees the client's address.
 * Its containers run nginx with the lab's rendered configuration.
 */
import { servedIngresses } from '../spec/ingress.js';
import { INGRESS_NGINX } from '../spec/ingress.js';
import { addonPods } from './addons.js';
import { AFFINITY_TIMEOUT_SECONDS, PROBE_DEFAULTS, type ServiceSpec } from '../spec/services.js';
import type { LabSpec, PodSpec, SourceRef } from '../spec/lab.js';

const SOURCE: SourceRef = { file: 'the ingress-nginx add-on', line: 1 };

function controllerPods(): PodSpec[] {
  const d = INGRESS_NGINX;
  return addonPods({
    namespace: d.namespace,
    deployment: d.deployment,
    replicas: d.replicas,
    labels: d.labels,
    dnsPolicy: 'ClusterFirst',
    container: {
      name: d.container,
      program: 'ingress-nginx',
      ports: [
        { name: 'http', containerPort: d.httpPort, protocol: 'TCP' },
        { name: 'https', containerPort: d.httpsPort, protocol: 'TCP' },
      ],
      readinessProbe: { ...PROBE_DEFAULTS, handler: { kind: 'httpGet', path: '/healthz', port: d.healthPort }, periodSeconds: 1 },
    },
    source: SOURCE,
  });
}

function controllerService(): ServiceSpec {
  const d = INGRESS_NGINX;
  return {
    namespace: d.namespace,
    name: d.service,
    type: 'LoadBalancer',
    selector: { ...d.labels },
    ports: [
      { name: 'http', protocol: 'TCP', port: d.httpPort, targetPort: 'http' },
      { name: 'https', protocol: 'TCP', port: d.httpsPort, targetPort: 'https' },
    ],
    sessionAffinity: 'None',
    affinityTimeoutSeconds: AFFINITY_TIMEOUT_SECONDS.default,
    externalTrafficPolicy: 'Local',
    internalTrafficPolicy: 'Cluster',
    source: SOURCE,
  };
}

export function needsIngressNginx(spec: Pick<LabSpec, 'ingresses' | 'ingressClasses'>): boolean {
  return servedIngresses({ ingresses: spec.ingresses ?? [], ingressClasses: spec.ingressClasses ?? [] }).length > 0;
}

/** The spec with the controller in it when an Ingress needs it; its pods come after the file's, so no file pod moves. */
export function withIngressNginx(spec: LabSpec): LabSpec {
  const d = INGRESS_NGINX;
  if (!needsIngressNginx(spec)) return spec;
  const hasPods = spec.pods.some((p) => p.namespace === d.namespace && p.owner?.name === d.deployment);
  const hasService = spec.services.some((s) => s.namespace === d.namespace && s.name === d.service);
  return {
    ...spec,
    namespaces: spec.namespaces.includes(d.namespace) ? spec.namespaces : [...spec.namespaces, d.namespace],
    pods: hasPods ? spec.pods : [...spec.pods, ...controllerPods()],
    services: hasService ? spec.services : [...spec.services, controllerService()],
  };
}
