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
  return plan.nodes.map((n) => ({ name: overlayUdpDaemon(n.name), netns: n.netns, module: 'overlay-udp', args: [n.name] }));
}

/** The name of the udp backend's forwarder on `node`. */
export function overlayUdpDaemon(node: string): string {
  return `overlay-udp/${node}`;
}

/** Base name of a daemon's files in the run directory: `overlay-udp/node1` -> `overlay-udp-node1`. */
function fileBase(spec: Pick<DaemonSpec, 'name'>): string {
  return spec.name.replace(/\//g, '-');
}

/** Where the daemon's stdout and stderr go, inside the run directory. */
export function daemonLogFile(spec: Pick<DaemonSpec, 'name'>): string {
  return `${fileBase(spec)}.log`;
}

/**
 * The JSON file a daemon writes (with its `pid`) once it is serving, inside
 * the run directory; the daemon is ready when that pid is the running one.
 */
export function daemonStateFile(spec: Pick<DaemonSpec, 'name'>): string {
  return `${fileBase(spec)}.json`;
}
