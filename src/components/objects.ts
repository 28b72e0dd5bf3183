/**
 * The kernel objects the plan decides, as data: read back from the very
 * `ip -batch` lines the renderers give `up`, so what `check` expects is
 * exactly what `up` made. Only the vocabulary the lab's renderers write is
 * understood; a line outside it is an error in the lab, not in the kernel.
 */
import type { NetnsBatch, Sysctl } from '../render/batch.js';

export interface LinkObject {
  kind: 'link';
  netns: string;
  name: string;
  type: string;
  mtu?: number;
  master?: string;
  up?: boolean;
  promisc?: boolean;
  hairpin?: boolean;
  address?: string;
  /** vxlan: VNI, local address, device, port, learning off. */
  vxlan?: { id: number; local: string; dev: string; port: number };
}

export interface AddressObject {
  kind: 'address';
  netns: string;
  dev: string;
  /** CIDR form. */
  address: string;
  /** Made without its on-link route (a pinned lab's pods, see model/neighbours.ts). */
  noprefixroute?: boolean;
}

export interface RouteObject {
  kind: 'route';
  netns: string;
  /** `default` or a CIDR (a bare address means /32). */
  dst: string;
  via?: string;
  dev?: string;
  onlink?: boolean;
}

export interface NeighbourObject {
  kind: 'neighbour';
  netns: string;
  ip: string;
  mac: string;
  dev: string;
}

export interface FdbObject {
  kind: 'fdb';
  netns: string;
  mac: string;
  dev: string;
  dst: string;
}

export interface SysctlObject {
  kind: 'sysctl';
  netns: string;
  key: string;
  value: string;
}

export type KernelObject = LinkObject | AddressObject | RouteObject | NeighbourObject | FdbObject | SysctlObject;

/** An object and the component that owns it (the topology, a backend, ...). */
export interface Owned<T extends KernelObject = KernelObject> {
  component: string;
  object: T;
}

/** `10.0.0.1` -> `10.0.0.1/32`; `default` and CIDRs stay. */
export function normaliseDst(dst: string): string {
  return dst === 'default' || dst.includes('/') ? dst : `${dst}/32`;
}

/** `key value key value` options after a fixed head. */
function options(words: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const next = words[i + 1];
    if (next !== undefined && !['up', 'onlink', 'nolearning', 'self', 'permanent'].includes(next)) {
      out.set(w, next);
      i++;
    } else out.set(w, '');
  }
  return out;
}

/**
 * The objects one batch line makes or changes. `links` holds the links seen
 * so far (by netns and name), since `link set` lines add to a link made
 * earlier, possibly by another batch.
 */
function parseLine(netns: string, line: string, links: Map<string, LinkObject>, add: (o: KernelObject) => void): void {
  const w = line.trim().split(/\s+/);
  const link = (ns: string, name: string): LinkObject => {
    const key = `${ns}/${name}`;
    let l = links.get(key);
    if (!l) {
      l = { kind: 'link', netns: ns, name, type: 'unknown' };
      links.set(key, l);
      add(l);
    }
    return l;
  };
  const [verb, action] = w;
  if (verb === 'link' && action === 'add') {
    const name = w[2]!;
    const typeAt = w.indexOf('type');
    const head = options(w.slice(3, typeAt));
    const l = link(netns, name);
    l.type = w[typeAt + 1]!;
    if (head.has('mtu')) l.mtu = Number(head.get('mtu'));
    if (head.has('address')) l.address = head.get('address')!;
    if (l.type === 'veth') {
      const peerAt = w.indexOf('peer');
      const peer = options(w.slice(peerAt + 3));
      const peerNs = peer.get('netns') ?? netns;
      const p = link(peerNs, w[peerAt + 2]!);
      p.type = 'veth';
      if (peer.has('mtu')) p.mtu = Number(peer.get('mtu'));
      if (peer.has('address')) p.address = peer.get('address')!;
    } else if (l.type === 'vxlan') {
      const o = options(w.slice(typeAt + 2));
      l.vxlan = { id: Number(o.get('id')), local: o.get('local')!, dev: o.get('dev')!, port: Number(o.get('dstport')) };
    }
    return;
  }
  if (verb === 'link' && action === 'set') {
    const l = link(netns, w[2]!);
    const rest = w.slice(3);
    if (rest[0] === 'type' && rest[1] === 'bridge_slave') {
      if (rest.includes('hairpin')) l.hairpin = rest[rest.indexOf('hairpin') + 1] === 'on';
      return;
    }
    const o = options(rest);
    if (o.has('master')) l.master = o.get('master')!;
    if (o.has('mtu')) l.mtu = Number(o.get('mtu'));
    if (o.has('promisc')) l.promisc = o.get('promisc') === 'on';
    if (o.has('up')) l.up = true;
    return;
  }
  if (verb === 'tuntap' && action === 'add') {
    const o = options(w.slice(2));
    link(netns, o.get('dev')!).type = o.get('mode') ?? 'tun';
    return;
  }
  if (verb === 'addr' && action === 'add') {
    const o = options(w.slice(3));
    add({ kind: 'address', netns, address: w[2]!, dev: o.get('dev')!, ...(o.has('noprefixroute') ? { noprefixroute: true } : {}) });
    return;
  }
  if (verb === 'route' && action === 'add') {
    const o = options(w.slice(3));
    add({ kind: 'route', netns, dst: normaliseDst(w[2]!), ...(o.has('via') ? { via: o.get('via')! } : {}), ...(o.has('dev') ? { dev: o.get('dev')! } : {}), ...(o.has('onlink') ? { onlink: true } : {}) });
    return;
  }
  if (verb === 'neigh' && (action === 'add' || action === 'replace')) {
    const o = options(w.slice(3));
    add({ kind: 'neighbour', netns, ip: w[2]!, mac: o.get('lladdr')!, dev: o.get('dev')! });
    return;
  }
  if (verb === 'fdb' && (action === 'add' || action === 'append')) {
    const o = options(w.slice(3));
    add({ kind: 'fdb', netns, mac: w[2]!, dev: o.get('dev')!, dst: o.get('dst')! });
    return;
  }
  throw new Error(`check cannot read the rendered line '${line}' (netns ${netns}); teach src/components/objects.ts its meaning`);
}

/** The objects a component's batches make, in order; links merged across `link add` and `link set` lines. */
export function objectsOf(component: string, batches: readonly NetnsBatch[], links = new Map<string, LinkObject>()): Owned[] {
  const out: Owned[] = [];
  for (const b of batches) {
    for (const line of b.lines) parseLine(b.netns, line, links, (object) => out.push({ component, object }));
  }
  return out;
}

export function sysctlObjects(component: string, sysctls: readonly Sysctl[]): Owned[] {
  return sysctls.map((s) => ({ component, object: { kind: 'sysctl', netns: s.netns, key: s.key, value: s.value } }));
}
