/**
 * Processes a lab runs besides the test server's sockets: node-level
 * daemons (the udp backend's packet forwarder, one per node, like
 * flannel's DaemonSet) and the DNS servers (one in each cluster DNS pod,
 * one on the internet side). Pure: which daemons a plan needs; the agent
 * starts and supervises them.
 */
import { CLUSTER_DNS } from '../spec/cluster-dns.js';
import type { Plan } from './types.js';

export interface DaemonSpec {
  /** Unique within the lab, e.g. `overlay-udp/node1`. */
  name: string;
  /** Network namespace the daemon runs in. */
  netns: string;
  /** The component folder under dist/ whose `main.js` is the entry, e.g. `components/udp`. */
  module: 'components/udp' | 'components/cluster-dns' | 'components/load-balancer' | 'components/ingress-nginx';
  /** Arguments after the run directory: `--name <name>` and the daemon's own flags. */
  args: string[];
  /**
   * Its config, rendered from the plan by its component; the agent writes it
   * to `daemonConfigFile` (the daemon never reads the plan). Absent for a
   * daemon whose input is a data file the agent publishes (the DNS records).
   */
  config?: unknown;
}

export function daemonsFor(plan: Plan): DaemonSpec[] {
  if (plan.spec?.podNetwork?.backend !== 'udp') return [];
  return plan.nodes.map((n) => ({ name: overlayUdpDaemon(n.name), netns: n.netns, module: 'components/udp', args: ['--name', overlayUdpDaemon(n.name)] }));
}

export const LOAD_BALANCER_DAEMON = 'cloud/load-balancer';

/** nginx in every ingress-nginx controller pod; each reads the plan itself and reloads on change. */
export function ingressDaemonsFor(plan: Plan): DaemonSpec[] {
  return (plan.pods ?? [])
    .filter((p) => p.containers.some((c) => c.program === 'ingress-nginx'))
    .map((p) => {
      const name = `ingress/${p.namespace}/${p.name}`;
      return { name, netns: p.netns, module: 'components/ingress-nginx' as const, args: ['--name', name, '--pod', p.key] };
    });
}

/** The cloud's load balancer, in its namespace on the internet side; it reads the plan itself. */
export function cloudDaemonsFor(plan: Plan): DaemonSpec[] {
  const lb = plan.internet?.loadBalancer;
  return lb ? [{ name: LOAD_BALANCER_DAEMON, netns: lb.netns, module: 'components/load-balancer', args: ['--name', LOAD_BALANCER_DAEMON] }] : [];
}

/** Data files of the DNS servers, in the run directory; the agent rewrites them on every change. */
export const CLUSTER_DNS_DATA = 'dns-cluster.json';
export const RESOLVER_DATA = 'dns-internet.json';
export const RESOLVER_DAEMON = 'dns/internet-resolver';

/**
 * The DNS servers: one in every pod whose container runs the cluster DNS
 * (serving 53 and CoreDNS's ready, health and metrics ports in the pod),
 * and the internet's resolver in the internet router's namespace.
 */
export function dnsDaemonsFor(plan: Plan): DaemonSpec[] {
  const d = CLUSTER_DNS;
  const pods = (plan.pods ?? []).filter((p) => p.containers.some((c) => c.program === 'cluster-dns'));
  const cluster: DaemonSpec[] = pods.map((p) => {
    const name = `dns/${p.namespace}/${p.name}`;
    return {
      name,
      netns: p.netns,
      module: 'components/cluster-dns',
      args: ['--name', name, '--data', CLUSTER_DNS_DATA, '--port', String(d.dnsPort), '--ready-port', String(d.readyPort), '--health-port', String(d.healthPort), '--metrics-port', String(d.metricsPort)],
    };
  });
  if (!plan.internet?.resolver) return cluster;
  return [...cluster, { name: RESOLVER_DAEMON, netns: plan.internet.netns, module: 'components/cluster-dns', args: ['--name', RESOLVER_DAEMON, '--data', RESOLVER_DATA, '--address', plan.internet.resolver.ip, '--port', String(d.dnsPort)] }];
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

/** The config file the agent writes for a daemon, inside the run directory. */
export function daemonConfigFile(spec: Pick<DaemonSpec, 'name'>): string {
  return `${fileBase(spec)}.config.json`;
}
