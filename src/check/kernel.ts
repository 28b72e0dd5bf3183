/**
 * The kernel state `check` compares, read in a few batched calls per
 * namespace: one `ip -j -d -batch` (links, addresses, routes, permanent
 * neighbours) and `bridge -j fdb` where the plan has fdb entries, from one
 * script per core, and the sysctls the plan sets. Read-only; namespaces that are gone
 * read as empty, which `compare` reports as missing objects.
 */
import { availableParallelism } from 'node:os';
import { run } from '../kernel/exec.js';
import { readSysctls } from '../kernel/netns.js';
import type { KernelObject, Owned } from '../components/objects.js';

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
  addr_info?: { family?: string; local?: string; prefixlen?: number; noprefixroute?: boolean }[];
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

/**
 * One fixed script reads a share of the namespaces, each named in its
 * arguments (never in the script text): per namespace a group of
 * `netns fdb-devices-count devices…`. Between the reads it prints `@@`
 * markers the parser splits on. One process per share instead of three per
 * namespace keeps `check` fast on a lab of 400 namespaces.
 */
const READ_SCRIPT = `
while [ $# -gt 0 ]; do
  ns=$1; nfdb=$2; shift 2
  echo "@@ns $ns"
  # nsenter rather than ip -n: that one copies the host's whole mount table (a bind mount per namespace) every time.
  printf 'link show\naddr show\nroute show\nneigh show nud permanent\n' | nsenter --net=/run/netns/"$ns" ip -j -d -batch - 2>&1 || echo "@@failed"
  while [ "$nfdb" -gt 0 ]; do echo "@@fdb $1"; nsenter --net=/run/netns/"$ns" bridge -j fdb show dev "$1" 2>/dev/null; shift; nfdb=$((nfdb-1)); done
done
`;

/** The arguments of READ_SCRIPT for one namespace. */
function readArgs(netns: string, objects: readonly KernelObject[]): string[] {
  const fdbDevs = [...new Set(objects.flatMap((o) => (o.kind === 'fdb' ? [o.dev] : [])))];
  return [netns, String(fdbDevs.length), ...fdbDevs];
}

/** Splits READ_SCRIPT's output back into each namespace's state (its sysctls are read apart, in-process). */
export function parseReadOutput(text: string): KernelState {
  const out: KernelState = {};
  for (const chunk of text.split(/^@@ns /m).slice(1)) {
    const [head = '', ...rest] = chunk.split('\n');
    const netns = head.trim();
    const body = rest.join('\n');
    const [ipPart = '', ...marked] = body.split(/^@@/m);
    if (/^@@failed$/m.test(body) && /No such file|Cannot open network namespace|Invalid argument/i.test(ipPart)) {
      out[netns] = { ...EMPTY };
      continue;
    }
    if (/^@@failed$/m.test(body)) throw new Error(`ip -n ${netns} -j -batch failed: ${ipPart.trim()}`);
    const [links = [], addrs = [], routes = [], neighbours = []] = jsonLines(ipPart);
    const state: NetnsState = { exists: true, links: links as IpLink[], addrs: addrs as IpAddr[], routes: routes as IpRoute[], neighbours: neighbours as IpNeigh[], fdb: [], sysctls: {} };
    for (const part of marked) {
      const [tag = '', ...lines] = part.split('\n');
      const text = lines.join('\n').trim();
      if (tag.startsWith('fdb ')) {
        const dev = tag.slice(4).trim();
        if (text.startsWith('[')) state.fdb.push(...(JSON.parse(text) as BridgeFdb[]).map((f) => ({ ...f, ifname: f.ifname ?? dev })));
      }
    }
    out[netns] = state;
  }
  return out;
}

/**
 * Reads every namespace the expected objects live in: one script per core,
 * each over its share of the namespaces, and the sysctls from this process
 * meanwhile (a setns and a file read each, where a process per namespace
 * would cost more than all the rest at a thousand pods).
 */
export async function readKernel(expected: readonly Owned[], shares = Math.max(2, availableParallelism())): Promise<KernelState> {
  const byNetns = new Map<string, KernelObject[]>();
  for (const { object } of expected) byNetns.set(object.netns, [...(byNetns.get(object.netns) ?? []), object]);
  const names = [...byNetns.keys()];
  const groups = Array.from({ length: Math.min(shares, names.length) }, (_, i) => names.filter((_, j) => j % shares === i));
  const reads = Promise.all(
    groups.map((group) =>
      run(['sh', '-c', READ_SCRIPT, 'kube-netlab-check', ...group.flatMap((ns) => readArgs(ns, byNetns.get(ns)!))], { allowFailure: true, context: `read the links, addresses, routes, neighbours and fdb entries of ${group.length} namespaces` }),
    ),
  );
  const sysctls = new Map(
    [...byNetns].flatMap(([ns, objs]) => {
      const keys = objs.flatMap((o) => (o.kind === 'sysctl' ? [o.key] : []));
      return keys.length ? [[ns, readSysctls(ns, keys)] as const] : [];
    }),
  );
  const out: KernelState = {};
  for (const r of await reads) Object.assign(out, parseReadOutput(r.stdout));
  for (const [ns, values] of sysctls) if (out[ns]?.exists && values) out[ns].sysctls = values;
  return out;
}
