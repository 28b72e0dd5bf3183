/**
 * What the udp overlay does with each packet, as flannel's `udp` backend
 * proxy does it: a packet read from the TUN goes whole, as the entire
 * payload of one UDP datagram, to the node that owns its destination /24;
 * a datagram received goes whole into the TUN. Each crossing is a routing
 * hop, so the TTL drops by one each way and a packet whose TTL would reach
 * 0 is dropped. A destination no node owns gets an ICMP Net Unreachable
 * back into the TUN, from this node's flannel0 address.
 *
 * Pure: built from the plan, no I/O, input buffers are never modified.
 */
import type { NodePlan } from '../../model/types.js';
import { intToIp, ipToInt, parseCidr } from '../../util/addresses.js';
import { decrementTtl, destination, destinationUnreachable, ipv4Problem, noIcmpErrorAbout, totalLength, type HeaderProblem } from './packet.js';

/** The fields of a plan the overlay reads; a full `Plan` satisfies it. */
export interface OverlayPlan {
  spec: { podNetwork: { udp: { port: number } } };
  nodes: Array<Pick<NodePlan, 'name' | 'netns' | 'ip' | 'podCIDR' | 'podMtu'>>;
}

export interface Endpoint {
  ip: string;
  port: number;
}

export interface Peer {
  node: string;
  /** The peer's pod CIDR (its /24). */
  subnet: string;
  endpoint: Endpoint;
}

export interface ForwardingConfig {
  node: string;
  netns: string;
  /** Where the UDP socket binds: this node's IP and the lab's udp port. */
  listen: Endpoint;
  podCIDR: string;
  /** The address of flannel0 (the pod CIDR's network address), source of our ICMP errors. */
  tunAddress: string;
  /** Every other node, in plan order. */
  peers: Peer[];
  /** flannel0's MTU: the size at which a TCP super-packet from a peer is segmented again. */
  mtu: number;
}

export type DropReason = HeaderProblem | 'ttl-expired' | 'no-route';

export type TunVerdict =
  | { action: 'send'; to: Endpoint; payload: Buffer }
  | { action: 'drop'; reason: DropReason; detail?: string }
  /** The packet is dropped for `reason`; `packet` is the ICMP error to write into the TUN. */
  | { action: 'reply'; reason: 'no-route'; packet: Buffer };

export type UdpVerdict = { action: 'write'; packet: Buffer } | { action: 'drop'; reason: DropReason };

function planError(nodeName: string, message: string): Error {
  return new Error(`plan.json cannot drive the udp overlay of node ${nodeName}: ${message}; rebuild the plan with \`up\``);
}

/** This node's forwarding configuration from the plan; throws, naming the field to fix, when the plan cannot give one. */
export function forwardingConfig(plan: OverlayPlan, nodeName: string): ForwardingConfig {
  const port = plan.spec.podNetwork.udp.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw planError(nodeName, `spec.podNetwork.udp.port is ${JSON.stringify(port)}, not a port from 1 to 65535`);
  }
  const self = plan.nodes.find((n) => n.name === nodeName);
  if (!self) {
    throw planError(nodeName, `no node of that name (nodes: ${plan.nodes.map((n) => n.name).join(', ') || 'none'})`);
  }
  if (typeof self.netns !== 'string' || !self.netns) throw planError(nodeName, 'the node has no `netns`');
  const checked = plan.nodes.map((n) => {
    try {
      ipToInt(n.ip);
      parseCidr(n.podCIDR);
    } catch (err) {
      throw planError(nodeName, `node ${n.name}: ${(err as Error).message}`);
    }
    return n;
  });
  const seen = new Map<string, string>();
  for (const n of checked) {
    const other = seen.get(n.podCIDR);
    if (other) throw planError(nodeName, `nodes ${other} and ${n.name} both have pod CIDR ${n.podCIDR}`);
    seen.set(n.podCIDR, n.name);
  }
  return {
    node: self.name,
    netns: self.netns,
    listen: { ip: self.ip, port },
    podCIDR: self.podCIDR,
    tunAddress: intToIp(parseCidr(self.podCIDR).network),
    peers: checked.filter((n) => n !== self).map((n) => ({ node: n.name, subnet: n.podCIDR, endpoint: { ip: n.ip, port } })),
    mtu: self.podMtu,
  };
}

interface PrefixTable {
  mask: number;
  routes: Map<number, Peer>;
}

/** Longest-prefix match of destination addresses to peers; one map lookup per distinct prefix length. */
export class RouteTable {
  private readonly tables: PrefixTable[];

  constructor(readonly peers: readonly Peer[]) {
    const byPrefix = new Map<number, PrefixTable>();
    for (const peer of peers) {
      const { network, prefix, mask } = parseCidr(peer.subnet);
      let table = byPrefix.get(prefix);
      if (!table) byPrefix.set(prefix, (table = { mask, routes: new Map() }));
      table.routes.set(network, peer);
    }
    this.tables = [...byPrefix.entries()].sort((a, b) => b[0] - a[0]).map(([, table]) => table);
  }

  /** The peer owning `address` (unsigned 32-bit), or undefined. */
  lookup(address: number): Peer | undefined {
    for (const table of this.tables) {
      const peer = table.routes.get((address & table.mask) >>> 0);
      if (peer) return peer;
    }
    return undefined;
  }
}

function copyWithTtlDecremented(packet: Buffer): Buffer | undefined {
  const length = totalLength(packet);
  const out = Buffer.allocUnsafe(length);
  packet.copy(out, 0, 0, length);
  return decrementTtl(out) ? out : undefined;
}

export class Forwarder {
  readonly routes: RouteTable;
  private readonly tunAddress: number;

  constructor(readonly config: ForwardingConfig) {
    this.routes = new RouteTable(config.peers);
    this.tunAddress = ipToInt(config.tunAddress);
  }

  /** A packet read from the TUN. Bytes past the IP total length are not carried. */
  fromTun(packet: Buffer): TunVerdict {
    const problem = ipv4Problem(packet);
    if (problem) return { action: 'drop', reason: problem };
    const peer = this.routes.lookup(destination(packet));
    if (!peer) {
      const why = noIcmpErrorAbout(packet);
      if (why) return { action: 'drop', reason: 'no-route', detail: `no ICMP error about ${why}` };
      return { action: 'reply', reason: 'no-route', packet: destinationUnreachable(packet, this.tunAddress) };
    }
    const payload = copyWithTtlDecremented(packet);
    if (!payload) return { action: 'drop', reason: 'ttl-expired' };
    return { action: 'send', to: peer.endpoint, payload };
  }

  /** The payload of a datagram from a peer: one whole IP packet. */
  fromUdp(datagram: Buffer): UdpVerdict {
    const problem = ipv4Problem(datagram);
    if (problem) return { action: 'drop', reason: problem };
    const packet = copyWithTtlDecremented(datagram);
    if (!packet) return { action: 'drop', reason: 'ttl-expired' };
    return { action: 'write', packet };
  }
}

/** One line per change between two peer lists, for the log of a reload. */
export function describePeerChanges(before: readonly Peer[], after: readonly Peer[]): string[] {
  const key = (p: Peer) => `${p.node} ${p.subnet} via ${p.endpoint.ip}:${p.endpoint.port}`;
  const old = new Set(before.map(key));
  const next = new Set(after.map(key));
  return [...[...old].filter((k) => !next.has(k)).map((k) => `- ${k}`), ...[...next].filter((k) => !old.has(k)).map((k) => `+ ${k}`)];
}
