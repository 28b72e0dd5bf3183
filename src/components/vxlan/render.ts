/**
 * vxlan: each node has a VXLAN device `flannel.<VNI>` (learning off, MTU of
 * the node network minus 50, the node's pod /24 network address as /32) and,
 * for every peer node, exactly three objects, programmed as flannel does:
 *   1. neighbour: peer's /24 network address -> peer VTEP MAC (permanent)
 *   2. fdb: peer VTEP MAC -> peer node IP (self, permanent)
 *   3. route: peer /24 via the peer's network address, onlink
 * The route comes last so the kernel never has to resolve a gateway whose
 * neighbour entry does not exist yet. Each kind is its own stage, so the
 * order holds for every peer (the `node-fdb` and `node-routes`
 * steps of `up`).
 */
import type { NodePlan } from '../../model/types.js';
import { vtepAddress } from '../pod-network/plan.js';
import type { PodNetworkBackend } from '../pod-network/backends.js';


export function vxlanDevice(vni: number): string {
  return `flannel.${vni}`;
}

export const vxlan: PodNetworkBackend = {
  name: 'vxlan',
  render(plan) {
    const { port, vni } = plan.spec.podNetwork.vxlan;
    const dev = vxlanDevice(vni);
    const peersOf = (n: NodePlan) => plan.nodes.filter((p) => p.name !== n.name);
    return {
      router: [],
      nodes: plan.nodes.map((n) => ({
        netns: n.netns,
        lines: [
          `link add ${dev} address ${n.vtepMac} type vxlan id ${vni} local ${n.ip} dev eth0 dstport ${port} nolearning`,
          `link set ${dev} mtu ${n.podMtu}`,
          `addr add ${vtepAddress(n)}/32 dev ${dev}`,
          `link set ${dev} up`,
          ...peersOf(n).map((p) => `neigh add ${vtepAddress(p)} lladdr ${p.vtepMac} dev ${dev} nud permanent`),
        ],
      })),
      fdb: plan.nodes.map((n) => ({
        netns: n.netns,
        tool: 'bridge' as const,
        lines: peersOf(n).map((p) => `fdb add ${p.vtepMac} dev ${dev} dst ${p.ip} self permanent`),
      })),
      routes: plan.nodes.map((n) => ({
        netns: n.netns,
        lines: peersOf(n).map((p) => `route add ${p.podCIDR} via ${vtepAddress(p)} dev ${dev} onlink`),
      })),
    };
  },
};
