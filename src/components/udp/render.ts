/**
 * udp: each node has a TUN device `flannel0` (MTU of the node network minus
 * 28, its pod /24's network address as /32) with one route for the whole pod
 * CIDR. The node's own /24 stays on cbr0 (a longer prefix), so only traffic
 * for other nodes enters the TUN, where the lab's userspace daemon reads it,
 * wraps each packet whole in one UDP datagram to the owning node, and writes
 * what it receives back into the TUN.
 */
import type { PodNetworkBackend } from '../pod-network/backends.js';
import { vtepAddress } from '../pod-network/plan.js';

export const TUN_DEVICE = 'flannel0';

export const udp: PodNetworkBackend = {
  name: 'udp',
  render(plan) {
    return {
      router: [],
      nodes: plan.nodes.map((n) => ({
        netns: n.netns,
        lines: [
          `tuntap add dev ${TUN_DEVICE} mode tun`,
          `addr add ${vtepAddress(n)}/32 dev ${TUN_DEVICE}`,
          `link set ${TUN_DEVICE} mtu ${n.podMtu} up`,
          `route add ${plan.spec.podNetwork.cidr} dev ${TUN_DEVICE}`,
        ],
      })),
    };
  },
};
