/**
 * From trace events, collected per namespace, to the walk a learner reads:
 * each namespace the probe's first packet visited, in the order it went,
 * with the interfaces, the rules it matched and what moved it on; then the
 * reply in short and one verdict line. Pure: rule texts and comments come
 * in through a lookup; the route, fdb and conntrack reads are added to the
 * hops afterwards by the caller (run.ts).
 */
import type { PacketFields, TraceEvent } from './events.js';
import { isTraceTable, type TracedFlow } from './table.js';

export interface NamespaceTrace {
  netns: string;
  /** As `check` names it: `node1`, `pod default/web-x`, `router`, `external`. */
  place: string;
  events: TraceEvent[];
}

export type Direction = 'forward' | 'reply';

export interface MatchedRule {
  family: string;
  table: string;
  chain: string;
  handle?: number;
  /** The rule as the kernel holds it, with its comment where it has one. */
  rule: string;
  comment?: string;
  verdict: string;
}

/** What the lab looked up where netfilter says nothing: a route, a bridge port, a tunnel's fdb entry. */
export interface LookedUp {
  what: 'route' | 'bridge' | 'vxlan' | 'udp' | 'conntrack';
  text: string;
}

export interface Hop {
  leg: number;
  direction: Direction;
  netns: string;
  place: string;
  in?: string;
  out?: string;
  /** The packet as it arrived (or was sent) and as it left: a DNAT shows as the difference; a source NAT happens after the last hook seen here and shows in the next namespace. */
  packetIn: PacketFields;
  packetOut: PacketFields;
  rules: MatchedRule[];
  /** Handed to a local socket (the input hook). */
  local: boolean;
  /** Dropped here: the rule or chain policy that did it. */
  dropped?: string;
  /** A node without a route for another node's pods: it sent them on by its default route. */
  misrouted?: string;
  /** The same packet passed this namespace before in this direction: a second copy (a bridge with netfilter can deliver a DNATed packet both bridged and routed). */
  again?: boolean;
  /** Seen in a trace event (always true for a hop; lookups in `objects` are inferred). */
  observed: true;
  objects: LookedUp[];
}

export type RuleLookup = (netns: string, e: Pick<TraceEvent, 'family' | 'table' | 'chain' | 'handle'>) => { rule: string; comment?: string } | undefined;

function direction(flow: TracedFlow, p: PacketFields): Direction | undefined {
  if (flow.localPort !== undefined) {
    if (p.sport === flow.localPort) return 'forward';
    if (p.dport === flow.localPort) return 'reply';
    // Past a source NAT that picked another port, the destination still says which flow it is (and the IP id which packet).
    if (flow.targets?.some((t) => t.ip === p.daddr && t.port === p.dport)) return 'forward';
    if (flow.targets?.some((t) => t.ip === p.saddr && t.port === p.sport)) return 'reply';
    return undefined;
  }
  if (flow.from) {
    if (p.saddr !== undefined && flow.from.ip === p.saddr && p.dport !== undefined && flow.from.ports.includes(p.dport)) return 'forward';
    if (p.daddr !== undefined && flow.from.ip === p.daddr && p.sport !== undefined && flow.from.ports.includes(p.sport)) return 'reply';
  }
  return undefined;
}

const ours = (e: TraceEvent) => isTraceTable(e.table);

/**
 * The events of one packet at one hook: nft gives them a trace id, but a
 * packet gets a new id at the next hook, so ids only split the output.
 */
interface Segment {
  hook: string;
  packet: PacketFields;
  events: TraceEvent[];
}

function segments(events: TraceEvent[]): Segment[] {
  const out: Segment[] = [];
  // Two packets traced at once (two CPUs) interleave their lines: each line goes to its own trace id's segment.
  const open = new Map<string, Segment>();
  for (const e of events) {
    if (e.kind === 'packet' && e.packet && ours(e)) {
      const segment = { hook: e.chain, packet: e.packet, events: [e] };
      open.set(e.id, segment);
      out.push(segment);
    } else {
      open.get(e.id)?.events.push(e);
    }
  }
  return out;
}

/**
 * The first packet of `dir` in one namespace, hook by hook: its first
 * segment and the next ones of the same packet (same IP id). The same
 * packet can pass a namespace twice (a bridge in front of a router that
 * sends it back out over the same bridge): a new walk starts at prerouting
 * with the same id and a lower TTL. A retransmission keeps its TTL and is
 * left out.
 */
function walks(all: Segment[], flow: TracedFlow, dir: Direction, ipid: number | undefined, reply?: { from: ReadonlySet<string>; to: ReadonlySet<string> }): TraceEvent[][] {
  const mine = all.filter(
    (s) => direction(flow, s.packet) === dir && (ipid === undefined || s.packet.ipid === ipid) && (!reply || (reply.from.has(`${s.packet.saddr}:${s.packet.sport}`) && reply.to.has(`${s.packet.daddr}:${s.packet.dport}`))),
  );
  const first = mine[0];
  if (!first) return [];
  const out: TraceEvent[][] = [[...first.events]];
  let ttl = first.packet.ttl ?? 0;
  for (const s of mine.slice(1)) {
    if (s.packet.ipid !== first.packet.ipid) continue;
    // Sent over loopback: the packet comes back in by lo in this very namespace, the same walk.
    const looped = s.hook === 'prerouting' && s.packet.iif === 'lo' && out.at(-1)!.some((e) => e.packet?.oif === 'lo');
    if ((s.hook === 'prerouting' || s.hook === 'output') && !looped) {
      if ((s.packet.ttl ?? 0) >= ttl) break;
      ttl = s.packet.ttl ?? 0;
      out.push([]);
    }
    out.at(-1)!.push(...s.events);
  }
  return out;
}

function hopOf(ns: NamespaceTrace, leg: number, dir: Direction, events: TraceEvent[], lookup: RuleLookup): Hop {
  const packets = events.filter((e) => e.kind === 'packet' && e.packet).map((e) => ({ hook: ours(e) ? e.chain : undefined, p: e.packet! }));
  const first = packets[0]!.p;
  const last = packets.at(-1)!.p;
  // A packet this namespace sent has no way in, even when it came back over loopback.
  const iif = packets[0]!.p.iif;
  const oif = [...packets].reverse().find((x) => x.p.oif)?.p.oif;
  const rules: MatchedRule[] = [];
  let dropped: string | undefined;
  for (const e of events) {
    if (ours(e)) continue;
    if (e.kind === 'rule') {
      const known = e.handle !== undefined ? lookup(ns.netns, e) : undefined;
      const rule = known?.rule ?? e.rule ?? `rule handle ${e.handle ?? '?'}`;
      rules.push({ family: e.family, table: e.table, chain: e.chain, ...(e.handle !== undefined ? { handle: e.handle } : {}), rule, ...(known?.comment ? { comment: known.comment } : {}), verdict: e.verdict ?? 'continue' });
      if (e.verdict === 'drop' || /\breject\b|-j REJECT/i.test(rule.replace(/(--)?comment "(?:[^"\\]|\\.)*"/g, ''))) dropped ??= `${e.family} ${e.table} ${e.chain}: ${known?.comment ? `"${known.comment}"` : rule}`;
    }
    if (e.kind === 'policy' && e.verdict === 'drop') dropped ??= `${e.family} ${e.table} ${e.chain}: chain policy drop`;
  }
  return {
    leg,
    direction: dir,
    netns: ns.netns,
    place: ns.place,
    ...(iif ? { in: iif } : {}),
    ...(oif ? { out: oif } : {}),
    packetIn: first,
    packetOut: last,
    rules,
    local: packets.some((x) => x.hook === 'input'),
    ...(dropped ? { dropped } : {}),
    observed: true,
    objects: [],
  };
}

/** Where a packet with the same TTL comes first: its sender, then a bridge that passed it on, then a router, the receiver last. */
function rank(h: Hop): number {
  if (h.in === undefined) return 0;
  if (h.local) return 3;
  return bridged(h) ? 1 : 2;
}

/** Passed on by a bridge, not routed: in and out by the same device, and the TTL untouched. */
export function bridged(h: Pick<Hop, 'in' | 'out' | 'packetIn' | 'packetOut'>): boolean {
  return h.in !== undefined && h.in === h.out && h.packetIn.ttl === h.packetOut.ttl;
}

/**
 * The order packets went: TTL only goes down as routers forward, so a
 * higher TTL on arrival came earlier; a bridge does not count down, so on
 * a tie the rank decides.
 */
function pathOrder(a: Hop, b: Hop): number {
  return (b.packetIn.ttl ?? 0) - (a.packetIn.ttl ?? 0) || rank(a) - rank(b);
}

/**
 * Every namespace's walk of one packet per leg and direction, as hops in
 * path order. The packet is the first one its sender sent, known by its IP
 * id: the probe's from `source`, nginx's from the namespace the probe was
 * delivered to, a reply from the namespace its request was delivered to.
 */
export function assembleHops(traces: NamespaceTrace[], flows: TracedFlow[], lookup: RuleLookup, source: string): Hop[] {
  const hops: Hop[] = [];
  const all = traces.map((ns) => ({ ns, segments: segments(ns.events) }));
  const segs = (netns: string | undefined) => all.find((x) => x.ns.netns === netns)?.segments ?? [];
  const forwardPass = (flow: TracedFlow, leg: number, origin: Segment | undefined): Hop[] => {
    if (!origin) return [];
    const found = all.flatMap(({ ns, segments }) => walks(segments, flow, 'forward', origin.packet.ipid).map((events) => hopOf(ns, leg, 'forward', events, lookup)));
    return found.sort(pathOrder);
  };
  /**
   * The reply is known by where it comes from: in each namespace the request
   * crossed, from the address and port the request left it for. Other
   * traffic of the same endpoints (a kubelet's readiness probes) and a
   * reply's IP id of 0 cannot pass for it.
   */
  const replyPass = (flow: TracedFlow, leg: number, forward: Hop[], delivered: Hop | undefined): Hop[] => {
    if (!delivered) return [];
    // Every address and port the request had on its way: the reply goes back to one of them (NAT undone step by step).
    const to = new Set(forward.flatMap((h) => [`${h.packetIn.saddr}:${h.packetIn.sport}`, `${h.packetOut.saddr}:${h.packetOut.sport}`]));
    const origin = segs(delivered.netns).find(
      (seg) => seg.hook === 'output' && direction(flow, seg.packet) === 'reply' && `${seg.packet.saddr}:${seg.packet.sport}` === `${delivered.packetOut.daddr}:${delivered.packetOut.dport}` && `${seg.packet.daddr}:${seg.packet.dport}` === `${delivered.packetIn.saddr}:${delivered.packetIn.sport}`,
    );
    if (!origin) return [];
    const found: Hop[] = [];
    for (const { ns, segments } of all) {
      // Where the request left this namespace for (each time it passed): the reply comes back from there.
      const from = new Set(forward.filter((h) => h.netns === ns.netns).map((h) => `${h.packetOut.daddr}:${h.packetOut.dport}`));
      if (!from.size) continue;
      for (const events of walks(segments, flow, 'reply', origin.packet.ipid, { from, to })) found.push(hopOf(ns, leg, 'reply', events, lookup));
    }
    return found.sort(pathOrder);
  };
  let deliveredTo: string | undefined;
  flows.forEach((flow, i) => {
    const start = segs(i === 0 ? source : deliveredTo).find((seg) => seg.hook === 'output' && direction(flow, seg.packet) === 'forward');
    const forward = forwardPass(flow, i + 1, start);
    const delivered = forward.find((h) => h.local);
    if (i === 0) deliveredTo = delivered?.netns;
    const reply = replyPass(flow, i + 1, forward, delivered);
    // Two walks of one namespace with nothing between them: the packet was duplicated there, not sent back by someone else.
    for (const list of [forward, reply]) list.forEach((h, j) => j > 0 && list[j - 1]!.netns === h.netns && (h.again = true));
    hops.push(...forward, ...reply);
  });
  return hops;
}

export type Outcome = 'delivered' | 'refused' | 'dropped';

export interface Verdict {
  outcome: Outcome;
  place?: string;
  line: string;
}

export interface ProbeResult {
  /** The probe answered: what (the test server names its pod). */
  answer?: string;
  /** The connection was refused (RST or ICMP error). */
  refused: boolean;
  error?: string;
}

/** The one line a learner needs: delivered to whom, refused by what, or dropped where. */
export function verdictOf(hops: Hop[], probe: ProbeResult, noRoute?: { place: string; text: string }): Verdict {
  const forward = hops.filter((h) => h.direction === 'forward' && h.leg === 1);
  const delivered = [...hops].reverse().find((h) => h.direction === 'forward' && h.local);
  const drop = hops.find((h) => h.dropped);
  if (probe.answer !== undefined) {
    return { outcome: 'delivered', ...(delivered ? { place: delivered.place } : {}), line: `delivered to ${delivered?.place ?? 'the destination'}; it answered: ${probe.answer}` };
  }
  if (probe.refused) {
    if (noRoute) return { outcome: 'refused', place: noRoute.place, line: `refused at ${noRoute.place}: no route (${noRoute.text}); it answered with an ICMP error` };
    if (drop) return { outcome: 'refused', place: drop.place, line: `refused at ${drop.place} by ${drop.dropped}` };
    if (delivered) {
      const answer = delivered.packetIn.protocol === 'udp' ? 'an ICMP port unreachable' : 'a reset';
      return { outcome: 'refused', place: delivered.place, line: `refused by ${delivered.place}: nothing listens on port ${delivered.packetOut.dport ?? '?'} (the kernel answered with ${answer})` };
    }
    return { outcome: 'refused', line: `refused: ${probe.error ?? 'the connection was reset'}` };
  }
  const last = forward.at(-1);
  if (drop) return { outcome: 'dropped', place: drop.place, line: `dropped at ${drop.place} by ${drop.dropped}` };
  if (noRoute) return { outcome: 'dropped', place: noRoute.place, line: `dropped at ${noRoute.place}: no route (${noRoute.text})${last && last.place !== noRoute.place ? `; it died at ${last.place}` : ''}` };
  if (!last) return { outcome: 'dropped', line: `no packet was seen: ${probe.error ?? 'the probe sent nothing'}` };
  return { outcome: 'dropped', place: last.place, line: `dropped after ${last.place}${last.out ? ` (it left on ${last.out})` : ''}: no namespace saw it again${probe.error ? `; ${probe.error}` : ''}` };
}

const endpoint = (p: PacketFields, which: 's' | 'd') => {
  const ip = which === 's' ? p.saddr : p.daddr;
  const port = which === 's' ? p.sport : p.dport;
  return `${ip ?? '?'}${port !== undefined ? `:${port}` : ''}`;
};

function describeRule(r: MatchedRule): string {
  // An iptables rule says its target itself (-j …); an nft rule gets its verdict.
  if (r.rule.startsWith('-A ')) return `iptables -t ${r.table} ${r.rule}`;
  const verdict = r.verdict === 'continue' ? '' : ` → ${r.verdict}`;
  return `nft ${r.family} ${r.table} ${r.chain}: ${r.rule}${verdict}`;
}

/** One hop as the lines `trace` prints: the place and interfaces, then each rule and object indented. */
export function hopLines(h: Hop, n: number): string[] {
  const via = h.in === undefined && h.local ? `sent over ${h.out ?? 'lo'} to a local socket` : [h.in ? `in ${h.in}` : 'sent', h.local ? 'to a local socket' : h.out ? `out ${h.out}` : ''].filter(Boolean).join(', ');
  const nat = endpoint(h.packetIn, 'd') !== endpoint(h.packetOut, 'd') ? `, DNAT to ${endpoint(h.packetOut, 'd')}` : '';
  const again = h.again ? `  (the same packet again, TTL ${h.packetIn.ttl ?? '?'}: a second copy)` : '';
  const lines = [`${String(n).padStart(2)}  ${h.place}  ${via}  ${endpoint(h.packetIn, 's')} → ${endpoint(h.packetIn, 'd')}${nat}  [observed]${again}`];
  for (const r of h.rules) lines.push(`      ${describeRule(r)}`);
  for (const o of h.objects) lines.push(`      ${o.what} ${o.text}  [inferred]`);
  if (h.dropped) lines.push(`      ✗ dropped: ${h.dropped}`);
  return lines;
}

/** The reply in short: the places it crossed and the addresses it came back from. */
export function replyLine(hops: Hop[], leg = 1): string | undefined {
  const reply = hops.filter((h) => h.direction === 'reply' && h.leg === leg);
  if (!reply.length) return undefined;
  const first = reply[0]!.packetIn;
  const last = reply.at(-1)!.packetOut;
  const rewritten = endpoint(first, 's') !== endpoint(last, 's') ? `; conntrack rewrote its source ${endpoint(first, 's')} back to ${endpoint(last, 's')}` : '';
  return `reply: ${reply.map((h) => h.place).join(' → ')}${rewritten}`;
}
