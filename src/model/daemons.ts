/**
 * What every daemon of the lab is to the agent that runs it (the udp
 * forwarder, the DNS servers, the ingress controllers, the load balancer):
 * a name, a namespace, a program and its own config, and the files it has in
 * the run directory. Which daemons a plan needs is each component's
 * `daemons()`, in its folder.
 */

/** The component folders under dist/ that have a daemon's `main.js`. */
export const DAEMON_MODULES = ['components/udp', 'components/cluster-dns', 'components/load-balancer', 'components/ingress-nginx'] as const;

export interface DaemonSpec {
  /** Unique within the lab, e.g. `overlay-udp/node1`. */
  name: string;
  /** Network namespace the daemon runs in. */
  netns: string;
  /** The component folder under dist/ whose `main.js` is the entry, e.g. `components/udp`. */
  module: (typeof DAEMON_MODULES)[number];
  /** Arguments after the run directory: `--name <name>` and the daemon's own flags. */
  args: string[];
  /**
   * Its config, rendered from the plan by its component; the agent writes it
   * to `daemonConfigFile` (the daemon never reads the plan). Absent for a
   * daemon whose input is a data file the agent publishes (the DNS records).
   */
  config?: unknown;
  /**
   * A socket it serves on its node that `verify` checks is bound (the udp
   * forwarder's, where peers send to it), with what else its check name says.
   */
  serves?: { protocol: 'udp'; ip: string; port: number; note: string };
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

/** The config file the agent writes for a daemon, inside the run directory. */
export function daemonConfigFile(spec: Pick<DaemonSpec, 'name'>): string {
  return `${fileBase(spec)}.config.json`;
}
