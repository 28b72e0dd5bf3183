/**
 * host-gw: nodes share one L2 network, so each node routes every other
 * node's pod /24 straight to that node's IP. One route per peer, no device.
 */
import type { PodNetworkBackend } from '../pod-network/backends.js';

export const hostGw: PodNetworkBackend = {
  name: 'host-gw',
  render(plan) {
    return {
      router: [],
      nodes: plan.nodes.map((n) => ({
        netns: n.netns,
        lines: plan.nodes
          .filter((peer) => peer.name !== n.name)
          .map((peer) => `route add ${peer.podCIDR} via ${peer.ip} dev eth0`),
      })),
    };
  },
};
