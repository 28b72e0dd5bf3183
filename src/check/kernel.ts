/**
 * The kernel state `check` compares, read in a few batched calls per
 * namespace: one `ip -j -d -batch` (links, addresses, routes, permanent
 * neighbours), `bridge -j fdb` where the plan has fdb entries, and one
 * `cat` of the sysctls the plan sets. Read-only; namespaces that are gone
 * read as empty, which `compare` reports as missing objects.
 */
import { run } from '../kernel/exec.js';
import { netnsPath } from '../kernel/netns.js';
import type { KernelObject, Owned } from './objects.js';

/** `ip -j` output, the fields `check` looks at. */
export interface IpLink {
  ifname: string;
  flags?: string[];
  mtu?: number;
  master?: string;
  address?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown> };
}
export interface IpAddr {
  ifname: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
  type?: string;
}
export interface IpNeigh {
  dst: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}
export interface BridgeFdb {
  mac: string;
  ifname?: string;
  dst?: string;
  flags?: string[];
  state?: string;
}

export interface NetnsState {
  /** False when the namespace does not exist. */
  exists: boolean;
  links: IpLink[];
  addrs: IpAddr[];
  routes: IpRoute[];
  neighbours: IpNeigh[];
  fdb: BridgeFdb[];
  sysctls: Record<string, string>;
}

export type KernelState = Record<string, NetnsState>;

const EMPTY: NetnsState = { exists: false, links: [], addrs: [], routes: [], neighbours: [], fdb: [], sysctls: {} };

/** The JSON arrays `ip -j -batch` prints, one per command line. */
function jsonLines(text: string): unknown[][] {
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('['))
    .map((l) => JSON.parse(l) as unknown[]);
}

async function readNetns(netns: string, objects: KernelObject[]): Promise<NetnsState> {
  const ip = await run(['ip', '-n', netns, '-j', '-d', '-batch', '-'], { input: 'link show\naddr show\nroute show\nneigh show nud permanent\n', allowFailure: true, context: `read the links, addresses, routes and neighbours of ${netns}` });
  if (ip.exitCode !== 0) {
    if (/No such file|Cannot open network namespace/i.test(ip.stderr)) return EMPTY;
    throw new Error(`ip -n ${netns} -j -batch failed: ${ip.stderr.trim()}`);
  }
  const [links = [], addrs = [], routes = [], neighbours = []] = jsonLines(ip.stdout);
  const state: NetnsState = { exists: true, links: links as IpLink[], addrs: addrs as IpAddr[], routes: routes as IpRoute[], neighbours: neighbours as IpNeigh[], fdb: [], sysctls: {} };
  const fdbDevs = [...new Set(objects.flatMap((o) => (o.kind === 'fdb' ? [o.dev] : [])))];
  for (const dev of fdbDevs) {
    const r = await run(['bridge', '-n', netns, '-j', 'fdb', 'show', 'dev', dev], { allowFailure: true, context: `read the fdb of ${dev} in ${netns}` });
    if (r.exitCode === 0 && r.stdout.trim()) state.fdb.push(...(JSON.parse(r.stdout) as BridgeFdb[]).map((f) => ({ ...f, ifname: f.ifname ?? dev })));
  }
  const keys = objects.flatMap((o) => (o.kind === 'sysctl' ? [o.key] : []));
  if (keys.length) {
    // One process for all of them; a key that cannot be read (its device is gone) reads as empty.
    const script = keys.map((k) => `cat /proc/sys/${k.replace(/\./g, '/')} 2>/dev/null || echo`).join('; ');
    const r = await run(['nsenter', `--net=${netnsPath(netns)}`, '--', 'sh', '-c', script], { allowFailure: true, context: `read the sysctls of ${netns}` });
    const values = r.stdout.split('\n');
    keys.forEach((k, i) => (state.sysctls[k] = (values[i] ?? '').trim()));
  }
  return state;
}

/** Reads every namespace the expected objects live in, a few at a time. */
export async function readKernel(expected: readonly Owned[], concurrency = 32): Promise<KernelState> {
  const byNetns = new Map<string, KernelObject[]>();
  for (const { object } of expected) byNetns.set(object.netns, [...(byNetns.get(object.netns) ?? []), object]);
  const out: KernelState = {};
  const queue = [...byNetns.keys()];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let ns = queue.shift(); ns !== undefined; ns = queue.shift()) out[ns] = await readNetns(ns, byNetns.get(ns)!);
    }),
  );
  return out;
}
