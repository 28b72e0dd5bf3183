/**
 * cloud-routes: nodes know nothing about each other's pods and send them to
 * the network's router (their default route), whose route table maps each
 * node's pod /24 to that node — the picture of a cloud VPC route table.
 */
import type { PodNetworkBackend } from '../pod-network/backends.js';

export const cloudRoutes: PodNetworkBackend = {
  name: 'cloud-routes',
  render(plan) {
    return {
      router: [
        {
          netns: plan.router.netns,
          lines: plan.nodes.map((n) => `route add ${n.podCIDR} via ${n.ip} dev ${plan.router.bridge}`),
        },
      ],
      nodes: [],
    };
  },
};
