/**
 * The udp backend's forwarder, one per node like flannel's DaemonSet: its
 * command line and its config, the node's forwarding table, rendered from
 * the plan. The agent starts it and writes the config; the forwarder never
 * reads the plan.
 */
import type { DaemonSpec } from '../../model/daemons.js';
import type { Plan } from '../../model/types.js';
import { forwardingConfig } from './forward.js';

/** The name of the udp backend's forwarder on `node`. */
export function overlayUdpDaemon(node: string): string {
  return `overlay-udp/${node}`;
}

/** One forwarder per node when the lab's backend is udp; none otherwise. */
export function udpDaemons(plan: Plan): DaemonSpec[] {
  if (plan.spec.podNetwork.backend !== 'udp') return [];
  return plan.nodes.map((n) => ({
    name: overlayUdpDaemon(n.name),
    netns: n.netns,
    module: 'components/udp',
    args: ['--name', overlayUdpDaemon(n.name)],
    config: forwardingConfig(plan, n.name),
    serves: { protocol: 'udp', ip: n.ip, port: plan.spec.podNetwork.udp.port, note: 'attached to flannel0' },
  }));
}
