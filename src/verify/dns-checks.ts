/**
 * P10: names resolve from the pods as on a cluster, through the pods' own
 * resolv.conf and the kube-dns service (so through kube-proxy's rules):
 * every service by its full name from every namespace, by `<svc>.<ns>`
 * and, in its own namespace, by its short name; headless services to
 * exactly their ready endpoints; ExternalName services to their CNAME;
 * SRV for named ports, PTR for ClusterIPs; TCP as well as UDP; names
 * outside the cluster through the internet resolver, unknown ones NXDOMAIN.
 * Pure: the probes run `dig` in the pods (probes.ts).
 */
import { clusterDnsIp, podResolvConf } from '../render/files.js';
import { CLUSTER_DNS } from '../spec/cluster-dns.js';
import { serviceEndpoints, type PodReady } from '../model/endpoints.js';
import type { Plan, PodPlan } from '../model/types.js';
import type { Check, Endpoint } from './checks.js';
import type { PolicyView } from './policy-view.js';
import { podParty } from '../components/network-policy/engine.js';

export type DnsType = 'A' | 'SRV' | 'PTR' | 'TXT' | 'CNAME';

export interface DnsExpect {
  rcode: 'NOERROR' | 'NXDOMAIN';
  /** The exact set of answers of the asked type (dig's rdata text, names with the trailing dot). Absent: not checked. */
  answers?: string[];
  /** The answer holds this CNAME (with the trailing dot). */
  cname?: string;
}

const podEnd = (p: PodPlan): Endpoint => ({ netns: p.netns, label: `pod ${p.key}` });

/** Whether the policies let `pod` reach the cluster DNS over UDP and TCP, whichever DNS pod kube-proxy picks. */
function dnsOpen(pod: PodPlan, policy: PolicyView | undefined): boolean {
  if (!policy) return true;
  const view = policy.world.proxy.get(pod.node);
  return (['UDP', 'TCP'] as const).every((protocol) => {
    const sp = view?.services.find((s) => s.namespace === CLUSTER_DNS.namespace && s.service === CLUSTER_DNS.service && s.protocol === protocol && s.port === 53);
    return !sp || sp.endpoints.length === 0 || policy.predict({ kind: 'pod', pod }, { kind: 'service', sp }, protocol).result === 'allowed';
  });
}

/** Pods that query: the first of each namespace (under policies, the first they let reach the DNS), the cluster DNS's own (dnsPolicy Default) left out. */
function clients(plan: Plan, policy: PolicyView | undefined): PodPlan[] {
  const seen = new Map<string, PodPlan>();
  for (const p of plan.pods) {
    if (p.dnsPolicy === 'Default' || p.dnsPolicy === 'None' || seen.has(p.namespace) || !dnsOpen(p, policy)) continue;
    seen.set(p.namespace, p);
  }
  return [...seen.values()];
}

/** Whether every DNS pod may forward to the internet resolver (names outside the zone), as far as policies go. */
function forwardingOpen(plan: Plan, policy: PolicyView | undefined): boolean {
  if (!policy) return true;
  const resolver = policy.engine.partyAt(plan.internet.resolver.ip);
  return plan.pods
    .filter((p) => p.namespace === CLUSTER_DNS.namespace && p.containers.some((c) => c.program))
    .every((p) => policy.engine.decide(podParty(p), resolver, 53, 'UDP').allowed && policy.engine.decide(podParty(p), resolver, 53, 'TCP').allowed);
}

const reverse = (ip: string) => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;

export function dnsChecks(plan: Plan, ready: PodReady, policy?: PolicyView): Check[] {
  const zone = plan.spec.clusterDomain;
  const from = clients(plan, policy);
  const checks: Check[] = [];
  for (const pod of plan.pods) {
    if (pod.dnsPolicy !== 'ClusterFirst' && pod.dnsPolicy !== 'ClusterFirstWithHostNet') continue;
    checks.push({
      path: 'P10',
      name: `P10 pod ${pod.key} has the ClusterFirst resolv.conf: nameserver ${clusterDnsIp(plan)}, search ${pod.namespace}.svc.${zone} svc.${zone} ${zone}, ndots:5`,
      probes: [{ kind: 'file', netns: pod.netns, label: `pod ${pod.key}`, path: '/etc/resolv.conf', content: podResolvConf(plan, pod) }],
    });
  }

  const first = from[0];
  // The queries need a client; the resolv.conf checks above do not.
  if (!first) return checks;
  const dig = (client: PodPlan, name: string, type: DnsType, expect: DnsExpect, opts: { search?: boolean; tcp?: boolean } = {}) => ({
    kind: 'dns' as const,
    from: podEnd(client),
    name,
    type,
    search: opts.search === true,
    tcp: opts.tcp === true,
    expect,
  });
  const endpoints = new Map(serviceEndpoints(plan, ready).map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));

  for (const svc of plan.services) {
    const full = `${svc.name}.${svc.namespace}.svc.${zone}`;
    if (svc.type === 'ExternalName') {
      const target = `${(svc.externalName ?? '').replace(/\.$/, '')}.`;
      checks.push({ path: 'P10', name: `P10 ExternalName ${svc.key}: ${full} is a CNAME for ${target}`, probes: [dig(first, full, 'CNAME', { rcode: 'NOERROR', answers: [target] })] });
      continue;
    }
    if (svc.clusterIP === 'None') {
      const ips = (endpoints.get(svc.key)?.subsets ?? []).flatMap((s) => s.addresses.map((a) => a.ip));
      const expect: DnsExpect = ips.length ? { rcode: 'NOERROR', answers: [...new Set(ips)].sort() } : { rcode: 'NXDOMAIN' };
      checks.push({
        path: 'P10',
        name: `P10 headless ${svc.key}: ${full} gives exactly its ${ips.length} ready endpoint(s)${ips.length ? '' : ' (none: NXDOMAIN)'}`,
        probes: [dig(first, full, 'A', expect)],
      });
      continue;
    }
    const a: DnsExpect = { rcode: 'NOERROR', answers: [svc.clusterIP!] };
    for (const client of from) {
      const probes = [dig(client, full, 'A', a), dig(client, `${svc.name}.${svc.namespace}`, 'A', a, { search: true })];
      if (client.namespace === svc.namespace) probes.push(dig(client, svc.name, 'A', a, { search: true }));
      checks.push({
        path: 'P10',
        name: `P10 service ${svc.key} (${svc.clusterIP}) resolves from namespace ${client.namespace} by ${client.namespace === svc.namespace ? `${svc.name}, ` : ''}${svc.name}.${svc.namespace} and ${full}`,
        probes,
      });
    }
    const named = svc.ports.filter((p) => p.name);
    checks.push({
      path: 'P10',
      name: `P10 PTR ${svc.clusterIP} -> ${full}; SRV for its named ports${named.length ? ` (${named.map((p) => p.name).join(', ')})` : ': none'}`,
      probes: [
        dig(first, reverse(svc.clusterIP!), 'PTR', { rcode: 'NOERROR', answers: [`${full}.`] }),
        ...named.map((p) => dig(first, `_${p.name}._${p.protocol.toLowerCase()}.${full}`, 'SRV', { rcode: 'NOERROR', answers: [`0 100 ${p.port} ${full}.`] })),
      ],
    });
  }

  const dnsName = `kube-dns.kube-system.svc.${zone}`;
  checks.push({
    path: 'P10',
    name: `P10 over TCP: ${dnsName} answers from ${first.key}; dns-version.${zone} says schema ${CLUSTER_DNS.schemaVersion}`,
    probes: [dig(first, dnsName, 'A', { rcode: 'NOERROR', answers: [clusterDnsIp(plan)] }, { tcp: true }), dig(first, `dns-version.${zone}`, 'TXT', { rcode: 'NOERROR', answers: [`"${CLUSTER_DNS.schemaVersion}"`] })],
  });
  const server = plan.spec.external.servers[0];
  if (!forwardingOpen(plan, policy)) return checks;
  checks.push({
    path: 'P10',
    name: `P10 names outside ${zone} go through the internet resolver ${plan.internet.resolver.ip}${server ? `: ${server.name} -> ${server.address}` : ''}; an unknown one is NXDOMAIN`,
    probes: [
      ...(server ? [dig(first, server.name, 'A', { rcode: 'NOERROR', answers: [server.address] })] : []),
      dig(first, 'no-such-host.invalid', 'A', { rcode: 'NXDOMAIN' }),
    ],
  });
  return checks;
}
