/**
 * Node-level daemons a lab runs besides containers (the udp backend's
 * packet forwarder, one per node, like flannel's DaemonSet). Pure: which
 * daemons a plan needs; the agent starts and supervises them.
 */
import type { Plan } from './types.js';

export interface DaemonSpec {
  /** Unique within the lab, e.g. `overlay-udp/node1`. */
  name: string;
  /** Network namespace the daemon runs in. */
  netns: string;
  /** Module under dist/ whose `main.js` is the entry, e.g. `overlay-udp`. */
  module: 'overlay-udp';
  /** Arguments after the run directory. */
  args: string[];
}

export function daemonsFor(plan: Plan): DaemonSpec[] {
  if (plan.spec?.podNetwork?.backend !== 'udp') return [];
  return plan.nodes.map((n) => ({ name: `overlay-udp/${n.name}`, netns: n.netns, module: 'overlay-udp', args: [n.name] }));
}
