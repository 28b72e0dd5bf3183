/**
 * What the lab's DNS servers answer, from the plan and pod readiness: the
 * cluster DNS gets every service with its ready endpoints (the view CoreDNS
 * builds from Services and Endpoints), the internet-side resolver the names
 * of the external servers. Pure; the agent writes the results for the
 * servers to load.
 */
import { INGRESS_NGINX } from '../spec/ingress.js';
import type { DnsEndpoint, DnsServerData, DnsService } from '../components/cluster-dns/data.js';
import { CLUSTER_DNS } from '../spec/cluster-dns.js';
import { serviceEndpoints, type PodReady } from './endpoints.js';
import type { Plan } from './types.js';

function services(plan: Plan, ready: PodReady): DnsService[] {
  const endpoints = new Map(serviceEndpoints(plan, ready).map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  return plan.services.map((svc) => {
    const kind = svc.type === 'ExternalName' ? 'ExternalName' : svc.clusterIP === 'None' ? 'Headless' : 'ClusterIP';
    // publishNotReadyAddresses puts not-ready pods in `addresses` already; `notReadyAddresses` never resolve.
    const byIp = new Map<string, DnsEndpoint>();
    for (const subset of endpoints.get(svc.key)?.subsets ?? []) {
      for (const a of subset.addresses) {
        const ep = byIp.get(a.ip) ?? { ip: a.ip, ...(a.hostname ? { hostname: a.hostname } : {}), ports: [] };
        ep.ports.push(...subset.ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol, port: p.port })));
        byIp.set(a.ip, ep);
      }
    }
    return {
      namespace: svc.namespace,
      name: svc.name,
      kind,
      ...(kind === 'ClusterIP' && svc.clusterIP ? { clusterIP: svc.clusterIP } : {}),
      ...(kind === 'ExternalName' && svc.externalName ? { externalName: svc.externalName.replace(/\.$/, '') } : {}),
      ports: svc.ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol, port: p.port })),
      endpoints: kind === 'ExternalName' ? [] : [...byIp.values()],
    };
  });
}

/** The cluster DNS's data: the zone, and the internet resolver for every other name (CoreDNS `forward . /etc/resolv.conf`). */
export function clusterDnsData(plan: Plan, ready: PodReady, serial: number): DnsServerData {
  const namespaces = new Set([...plan.spec.namespaces, ...plan.pods.map((p) => p.namespace), ...plan.services.map((s) => s.namespace)]);
  return {
    ttl: CLUSTER_DNS.ttl,
    serial,
    cluster: {
      domain: plan.spec.clusterDomain,
      namespaces: [...namespaces].sort(),
      services: services(plan, ready),
      reverseCidrs: [plan.spec.serviceNetwork.cidr, plan.spec.podNetwork.cidr],
      schemaVersion: CLUSTER_DNS.schemaVersion,
    },
    hosts: [],
    upstream: [plan.internet.resolver.ip],
  };
}

/**
 * The internet resolver's data: the external servers by name, and the
 * precise hosts of the served Ingresses at the ingress controller's
 * load-balancer IP (the records a user would publish for them); every other
 * name does not exist. Wildcard hosts get no record: they are reached with
 * a name under them that the user resolves (e.g. `curl --resolve`).
 */
export function resolverData(plan: Plan, serial: number): DnsServerData {
  const lb = plan.services.find((s) => s.namespace === INGRESS_NGINX.namespace && s.name === INGRESS_NGINX.service)?.loadBalancerIP;
  const servers = plan.spec.external.servers.map((s) => ({ name: s.name.toLowerCase(), addresses: [s.address] }));
  const taken = new Set(servers.map((s) => s.name));
  const ingressHosts = lb
    ? [...new Set(plan.ingresses.flatMap((i) => i.rules.map((r) => r.host)))].filter((h): h is string => h !== undefined && !h.startsWith('*.') && !taken.has(h))
    : [];
  return {
    ttl: CLUSTER_DNS.ttl,
    serial,
    hosts: [...servers, ...ingressHosts.map((name) => ({ name, addresses: [lb!] }))],
    upstream: [],
  };
}
