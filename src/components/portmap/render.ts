/**
 * hostPort, as the CNI portmap plugin does it: in the pod's node only,
 * traffic to any local address of the node on the host port is DNATed to
 * the pod; a pod reaching its own host port (hairpin) or the node reaching
 * it from localhost is masqueraded so the answer finds its way back. Chain
 * names, marks and comments follow portmap's; one `CNI-DN-<hash>` chain per
 * pod. Rendered for `iptables-restore --noflush`: declaring a chain flushes
 * it, so a re-render replaces the pod chains; the jumps from the built-in
 * chains are added once, when the node is built.
 */
import { shortHash } from '../../model/names.js';
import type { NodePlan, Plan, PodPlan } from '../../model/types.js';

/** portmap's default masquerade mark bit (0x2000). */
export const HOSTPORT_MARK = '0x2000/0x2000';

export interface HostPortMapping {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  containerPort: number;
}

export function hostPortsOf(pod: PodPlan): HostPortMapping[] {
  return pod.containers.flatMap((c) =>
    c.ports.filter((p) => p.hostPort !== undefined).map((p) => ({ protocol: p.protocol === 'UDP' ? ('udp' as const) : ('tcp' as const), hostPort: p.hostPort!, containerPort: p.containerPort })),
  );
}

/** `CNI-DN-` and a hash of the pod, as portmap names its chain after the container. */
export function podChain(lab: string, pod: Pick<PodPlan, 'key'>): string {
  return `CNI-DN-${shortHash(`${lab}/${pod.key}`, 17)}`;
}

/** Pods of `node` that DNAT a host port; hostNetwork pods listen on the node itself and need no rule. */
export function hostPortPods(plan: Plan, node: NodePlan): PodPlan[] {
  return plan.pods.filter((p) => p.node === node.name && !p.hostNetwork && hostPortsOf(p).length > 0);
}

export function renderPortmap(plan: Plan, node: NodePlan, opts: { jumps: boolean; removed?: PodPlan[] }): string {
  const pods = hostPortPods(plan, node);
  const lines = ['*nat', ':CNI-HOSTPORT-DNAT - [0:0]', ':CNI-HOSTPORT-SETMARK - [0:0]', ':CNI-HOSTPORT-MASQ - [0:0]'];
  for (const p of pods) lines.push(`:${podChain(plan.lab, p)} - [0:0]`);
  if (opts.jumps) {
    lines.push(
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    );
  }
  lines.push(
    `-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${HOSTPORT_MARK}`,
    `-A CNI-HOSTPORT-MASQ -m mark --mark ${HOSTPORT_MARK} -j MASQUERADE`,
  );
  for (const p of pods) {
    const chain = podChain(plan.lab, p);
    const maps = hostPortsOf(p);
    for (const proto of ['tcp', 'udp'] as const) {
      const ports = maps.filter((m) => m.protocol === proto).map((m) => m.hostPort);
      if (ports.length) lines.push(`-A CNI-HOSTPORT-DNAT -p ${proto} -m comment --comment "dnat name: \\"cbr0\\" id: \\"${p.key}\\"" -m multiport --dports ${ports.join(',')} -j ${chain}`);
    }
    for (const m of maps) {
      const match = `-p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort}`;
      lines.push(
        `-A ${chain} -s ${p.ip}/32 ${match} -j CNI-HOSTPORT-SETMARK`,
        `-A ${chain} -s 127.0.0.1/32 ${match} -j CNI-HOSTPORT-SETMARK`,
        `-A ${chain} ${match} -j DNAT --to-destination ${p.ip}:${m.containerPort}`,
      );
    }
  }
  // Chains of pods that left this node go with them.
  const kept = new Set(pods.map((p) => podChain(plan.lab, p)));
  for (const p of opts.removed ?? []) {
    const chain = podChain(plan.lab, p);
    if (p.node === node.name && hostPortsOf(p).length && !kept.has(chain)) lines.push(`:${chain} - [0:0]`, `-X ${chain}`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}
