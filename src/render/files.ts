/**
 * Per-namespace files that `ip netns exec` bind-mounts over /etc: the hosts
 * file the kubelet writes for a pod, the pod's resolv.conf as its
 * `dnsPolicy` and `dnsConfig` make it, and the resolv.conf of the nodes and
 * external clients, which use the internet's resolver.
 */
import { cidr, nthAddress } from '../util/addresses.js';
import type { Plan, PodPlan } from '../model/types.js';
import type { PodDnsConfig } from '../spec/lab.js';
import type { RenderedFile } from './batch.js';

export const NETNS_ETC = '/etc/netns';
/** The resolver reads at most this many nameservers; the kubelet drops the rest. */
const MAX_NAMESERVERS = 3;

/** The cluster DNS service address: the tenth IP of the service CIDR, as kubeadm picks it. */
export function clusterDnsIp(plan: Plan): string {
  return nthAddress(cidr(plan.spec.serviceNetwork.cidr), 10);
}

/** The pod's host name: `spec.hostname` when set (StatefulSet pods: their name), else the pod name. */
export function podHostname(pod: PodPlan): string {
  return pod.hostname ?? pod.name;
}

/** With a `subdomain`, the pod's fully qualified name under that headless service. */
export function podFqdn(plan: Plan, pod: PodPlan): string | undefined {
  return pod.subdomain ? `${podHostname(pod)}.${pod.subdomain}.${pod.namespace}.svc.${plan.spec.clusterDomain}` : undefined;
}

export function podHosts(plan: Plan, pod: PodPlan): string {
  const fqdn = podFqdn(plan, pod);
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    fqdn ? `${pod.ip}\t${fqdn}\t${podHostname(pod)}` : `${pod.ip}\t${podHostname(pod)}`,
    '',
  ].join('\n');
}

interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

function formatResolvConf(c: ResolvConf): string {
  const option = (o: { name: string; value?: string }) => (o.value === undefined ? o.name : `${o.name}:${o.value}`);
  return [
    ...c.nameservers.slice(0, MAX_NAMESERVERS).map((n) => `nameserver ${n}`),
    ...(c.searches.length ? [`search ${c.searches.join(' ')}`] : []),
    ...(c.options.length ? [`options ${c.options.map(option).join(' ')}`] : []),
    '',
  ].join('\n');
}

/** The nodes' own resolver configuration: the internet's resolver, as a cloud VM gets its provider's. */
function hostResolvConf(plan: Plan): ResolvConf {
  return { nameservers: [plan.internet.resolver.ip], searches: [], options: [] };
}

/** The kubelet's merge: dnsConfig's nameservers and searches appended without repeats, its options override by name. */
function merge(base: ResolvConf, extra: PodDnsConfig | undefined): ResolvConf {
  if (!extra) return base;
  const unique = (xs: string[]) => [...new Set(xs)];
  const options = new Map(base.options.map((o) => [o.name, o]));
  for (const o of extra.options) options.set(o.name, o);
  return {
    nameservers: unique([...base.nameservers, ...extra.nameservers]),
    searches: unique([...base.searches, ...extra.searches]),
    options: [...options.values()],
  };
}

/**
 * resolv.conf per dnsPolicy, as the kubelet writes it. The lab has no
 * hostNetwork pods yet, so ClusterFirstWithHostNet is ClusterFirst.
 */
export function podResolvConf(plan: Plan, pod: PodPlan): string {
  const zone = plan.spec.clusterDomain;
  const host = hostResolvConf(plan);
  let base: ResolvConf;
  switch (pod.dnsPolicy) {
    case 'None':
      base = { nameservers: [], searches: [], options: [] };
      break;
    case 'Default':
      base = host;
      break;
    default:
      base = {
        nameservers: [clusterDnsIp(plan)],
        searches: [`${pod.namespace}.svc.${zone}`, `svc.${zone}`, zone, ...host.searches],
        options: [{ name: 'ndots', value: '5' }],
      };
  }
  return formatResolvConf(merge(base, pod.dnsConfig));
}

export function nodeResolvConf(plan: Plan): string {
  return formatResolvConf(hostResolvConf(plan));
}

export function nodeHosts(plan: Plan): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...plan.nodes.map((n) => `${n.ip}\t${n.name}`),
    '',
  ].join('\n');
}

export function renderFiles(plan: Plan): RenderedFile[] {
  const files: RenderedFile[] = [];
  // A hostNetwork pod sees its node's files: one /etc/netns entry per namespace.
  for (const pod of plan.pods.filter((p) => !p.hostNetwork)) {
    files.push({ path: `${NETNS_ETC}/${pod.netns}/hosts`, content: podHosts(plan, pod) });
    files.push({ path: `${NETNS_ETC}/${pod.netns}/resolv.conf`, content: podResolvConf(plan, pod) });
  }
  for (const node of plan.nodes) {
    files.push({ path: `${NETNS_ETC}/${node.netns}/hosts`, content: nodeHosts(plan) });
    files.push({ path: `${NETNS_ETC}/${node.netns}/resolv.conf`, content: nodeResolvConf(plan) });
  }
  for (const client of [...plan.internet.clients, ...plan.internet.servers]) {
    files.push({ path: `${NETNS_ETC}/${client.netns}/resolv.conf`, content: nodeResolvConf(plan) });
  }
  return files;
}
