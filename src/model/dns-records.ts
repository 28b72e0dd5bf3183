/**
 * What the lab's DNS servers answer, from the plan and pod readiness: the
 * cluster DNS gets every service with its ready endpoints (the view CoreDNS
 * builds from Services and Endpoints), the internet-side resolver the names
 * of the external servers. Pure; the agent writes the results for the
 * servers to load.
 */
import type { DnsEndpoint, DnsServerData, DnsService } from '../dns/data.js';
import { CLUSTER_DNS } from './cluster-dns.js';
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

/** The internet resolver's data: the external servers by name; every other name does not exist. */
export function resolverData(plan: Plan, serial: number): DnsServerData {
  return {
    ttl: CLUSTER_DNS.ttl,
    serial,
    hosts: plan.spec.external.servers.map((s) => ({ name: s.name.toLowerCase(), addresses: [s.address] })),
    upstream: [],
  };
}
