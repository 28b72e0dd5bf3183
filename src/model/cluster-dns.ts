/**
 * The cluster DNS add-on every lab runs, as kubeadm installs it: a
 * `coredns` Deployment in kube-system (two replicas, label
 * `k8s-app: kube-dns`, dnsPolicy Default so it forwards to the node's
 * resolver) behind the `kube-dns` Service at the tenth service IP. The
 * container runs the lab's DNS server instead of the test server.
 */
import { addonPods } from './addons.js';
import { AFFINITY_TIMEOUT_SECONDS, KUBE_DNS_SERVICE, PROBE_DEFAULTS, type ServiceSpec } from '../spec/services.js';
import type { LabSpec, PodSpec, SourceRef } from '../spec/lab.js';

import { CLUSTER_DNS } from '../spec/cluster-dns.js';


const SOURCE: SourceRef = { file: 'the cluster DNS add-on', line: 1 };

function clusterDnsPods(replicas: number): PodSpec[] {
  const d = CLUSTER_DNS;
  return addonPods({
    namespace: d.namespace,
    deployment: d.deployment,
    replicas,
    labels: d.labels,
    // CoreDNS must not ask itself: it forwards to the node's resolver.
    dnsPolicy: 'Default',
    container: {
      name: d.container,
      program: 'cluster-dns',
      ports: [
        { name: 'dns', containerPort: d.dnsPort, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: d.dnsPort, protocol: 'TCP' },
        { name: 'metrics', containerPort: d.metricsPort, protocol: 'TCP' },
      ],
      // kubeadm probes /ready on 8181 every 10 s; every second here, so a lab is usable as soon as the server is.
      readinessProbe: {
        ...PROBE_DEFAULTS,
        handler: { kind: 'httpGet', path: '/ready', port: d.readyPort },
        periodSeconds: 1,
      },
    },
    source: SOURCE,
  });
}

function clusterDnsService(): ServiceSpec {
  const d = CLUSTER_DNS;
  return {
    namespace: d.namespace,
    name: d.service,
    type: 'ClusterIP',
    selector: { ...d.labels },
    ports: [
      { name: 'dns', protocol: 'UDP', port: d.dnsPort, targetPort: d.dnsPort },
      { name: 'dns-tcp', protocol: 'TCP', port: d.dnsPort, targetPort: d.dnsPort },
      { name: 'metrics', protocol: 'TCP', port: d.metricsPort, targetPort: d.metricsPort },
    ],
    sessionAffinity: 'None',
    affinityTimeoutSeconds: AFFINITY_TIMEOUT_SECONDS.default,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    source: SOURCE,
  };
}

/**
 * The spec with the add-on's objects in it. Its pods come after the
 * file's, so adding it moves none of the file's pods to another node or
 * address; its namespace exists in every lab.
 */
export function withClusterDns(spec: LabSpec): LabSpec {
  const d = CLUSTER_DNS;
  const hasPods = spec.pods.some((p) => p.namespace === d.namespace && p.owner?.name === d.deployment);
  const hasService = spec.services.some((s) => s.namespace === d.namespace && s.name === d.service);
  return {
    ...spec,
    namespaces: spec.namespaces.includes(d.namespace) ? spec.namespaces : [...spec.namespaces, d.namespace],
    pods: hasPods ? spec.pods : [...spec.pods, ...clusterDnsPods(d.replicas)],
    services: hasService ? spec.services : [...spec.services, clusterDnsService()],
  };
}
