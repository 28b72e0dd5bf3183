/**
 * Per-namespace files that `ip netns exec` bind-mounts over /etc: the hosts
 * file the kubelet writes for a pod, and the pod's resolv.conf (ClusterFirst).
 */
import { cidr, nthAddress } from '../model/addresses.js';
import type { Plan, PodPlan } from '../model/types.js';
import type { RenderedFile } from './batch.js';

export const NETNS_ETC = '/etc/netns';

/** The cluster DNS service address: the tenth IP of the service CIDR, as kubeadm picks it. */
export function clusterDnsIp(plan: Plan): string {
  return nthAddress(cidr(plan.spec.serviceNetwork.cidr), 10);
}

export function podHosts(pod: PodPlan): string {
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${pod.ip}\t${pod.name}`,
    '',
  ].join('\n');
}

export function podResolvConf(plan: Plan, pod: PodPlan): string {
  const zone = plan.spec.clusterDomain;
  return [
    `nameserver ${clusterDnsIp(plan)}`,
    `search ${pod.namespace}.svc.${zone} svc.${zone} ${zone}`,
    'options ndots:5',
    '',
  ].join('\n');
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
  for (const pod of plan.pods) {
    files.push({ path: `${NETNS_ETC}/${pod.netns}/hosts`, content: podHosts(pod) });
    files.push({ path: `${NETNS_ETC}/${pod.netns}/resolv.conf`, content: podResolvConf(plan, pod) });
  }
  for (const node of plan.nodes) {
    files.push({ path: `${NETNS_ETC}/${node.netns}/hosts`, content: nodeHosts(plan) });
  }
  return files;
}
