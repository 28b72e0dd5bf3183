/**
 * The endpoints ingress-nginx balances over, as the agent publishes them
 * for the controller pods: for every Service port, its ready endpoints
 * (pod IP and resolved targetPort), kept in step with readiness the way
 * the DNS data is. The controller turns them into `upstream` blocks and
 * reloads nginx gracefully when they change, as ingress-nginx updates its
 * balancer when an EndpointSlice changes.
 */
import { createHash } from 'node:crypto';
import { serviceEndpoints, type PodReady } from '../../model/endpoints.js';
import type { IngressBackendSpec } from '../../spec/ingress.js';
import type { Plan } from '../../model/types.js';
import type { ServicePlan } from '../../model/services.js';
import type { UpstreamRef } from './servers.js';

/** In the run directory; the agent rewrites it when an endpoint changes. */
export const INGRESS_UPSTREAMS_FILE = 'ingress-upstreams.json';

export interface UpstreamData {
  /** A digest of `services`: what controllers report once nginx serves it. */
  version: string;
  /** `<namespace>/<service>:<service port>` -> ready `ip:port`, sorted. */
  services: Record<string, string[]>;
}

const portKey = (namespace: string, service: string, port: number) => `${namespace}/${service}:${port}`;

/** Every Service port's ready endpoints, from the plan and the readiness the agent sees. */
export function upstreamData(plan: Plan, ready: PodReady): UpstreamData {
  const services: Record<string, string[]> = {};
  const byName = new Map(plan.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  for (const ep of serviceEndpoints(plan, ready)) {
    const svc = byName.get(`${ep.metadata.namespace}/${ep.metadata.name}`);
    for (const sp of svc?.ports ?? []) {
      if (sp.protocol !== 'TCP') continue;
      const list: string[] = [];
      for (const subset of ep.subsets) {
        // The subset's port of this service port: by name, or the only one of an unnamed port.
        const port = subset.ports.find((p) => (sp.name ? p.name === sp.name : p.name === undefined && p.protocol === sp.protocol));
        if (port) for (const a of subset.addresses) list.push(`${a.ip}:${port.port}`);
      }
      services[portKey(ep.metadata.namespace, ep.metadata.name, sp.port)] = list.sort();
    }
  }
  const version = createHash('sha256').update(JSON.stringify(services)).digest('hex').slice(0, 16);
  return { version, services };
}

/** The Service port an Ingress backend names, by number or by name. */
function servicePort(plan: { services: readonly ServicePlan[] }, namespace: string, b: IngressBackendSpec) {
  const svc = plan.services.find((s) => s.namespace === namespace && s.name === b.service);
  const port = svc?.ports.find((p) => p.protocol === 'TCP' && ('number' in b.port ? p.port === b.port.number : p.name === b.port.name));
  return svc && port ? { svc, port } : undefined;
}

/**
 * The servers of an upstream: the ClusterIP and port with service-upstream
 * (none for a headless Service), else the ready endpoints. Undefined when
 * the Service or port does not exist.
 */
export function upstreamServers(plan: { services: readonly ServicePlan[] }, data: UpstreamData | undefined, u: UpstreamRef): string[] | undefined {
  const found = servicePort(plan, u.namespace, u.backend);
  if (!found || found.svc.type === 'ExternalName') return undefined;
  if (u.serviceUpstream) return found.svc.clusterIP && found.svc.clusterIP !== 'None' ? [`${found.svc.clusterIP}:${found.port.port}`] : [];
  return data?.services[portKey(u.namespace, u.backend.service, found.port.port)] ?? [];
}
