/**
 * `nft monitor trace` output, line by line, as data. One traced packet in
 * one namespace gets a trace id; for each base chain it passes, nft prints
 * the packet (`packet: iif "eth0" ip saddr …`), every rule that matched with
 * its verdict, and the chain's verdict or policy. Lines about anything else
 * (rule set changes the monitor also reports) are skipped.
 */

export type TraceKind = 'packet' | 'rule' | 'verdict' | 'policy';

export interface PacketFields {
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  ttl?: number;
  /** The IP header's identification: the same packet keeps it from hook to hook. */
  ipid?: number;
  /** Ethernet addresses, where the packet came in on one. */
  etherSaddr?: string;
  etherDaddr?: string;
  protocol?: string;
  sport?: number;
  dport?: number;
  /** `syn`, `syn | ack`, … as nft prints them. */
  flags?: string;
}

export interface TraceEvent {
  id: string;
  family: string;
  table: string;
  chain: string;
  kind: TraceKind;
  /** The rule as nft prints it (without handle and verdict); absent when nft did not know it. */
  rule?: string;
  handle?: number;
  /** `accept`, `drop`, `continue`, `jump KUBE-SVC-…`, `goto …`, `return`. */
  verdict?: string;
  packet?: PacketFields;
}

const HEAD = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/;

function field(text: string, re: RegExp): string | undefined {
  return re.exec(text)?.[1];
}

export function parsePacket(text: string): PacketFields {
  const out: PacketFields = {};
  const iif = field(text, /\biif "([^"]+)"/);
  const oif = field(text, /\boif "([^"]+)"/);
  const saddr = field(text, /\bip saddr (\S+)/);
  const daddr = field(text, /\bip daddr (\S+)/);
  const ttl = field(text, /\bip ttl (\d+)/);
  const ipid = field(text, /\bip id (\d+)/);
  const etherSaddr = field(text, /\bether saddr (\S+)/);
  const etherDaddr = field(text, /\bether daddr (\S+)/);
  const l4 = /\b(tcp|udp|icmp|sctp) (?:sport|type) /.exec(text)?.[1] ?? field(text, /\bip protocol (\S+)/);
  const sport = field(text, /\b(?:tcp|udp|sctp) sport (\d+)/);
  const dport = field(text, /\b(?:tcp|udp|sctp) dport (\d+)/);
  const flags = field(text, /\btcp flags == (\S+(?: \| \S+)*)/);
  if (iif) out.iif = iif;
  if (oif) out.oif = oif;
  if (saddr) out.saddr = saddr;
  if (daddr) out.daddr = daddr;
  if (ttl) out.ttl = Number(ttl);
  if (ipid) out.ipid = Number(ipid);
  if (etherSaddr) out.etherSaddr = etherSaddr;
  if (etherDaddr) out.etherDaddr = etherDaddr;
  if (l4) out.protocol = l4;
  if (sport) out.sport = Number(sport);
  if (dport) out.dport = Number(dport);
  if (flags) out.flags = flags;
  return out;
}

/** A rule's text without its counter, which changes with every packet. */
export function tidyRule(text: string): string {
  return text.replace(/\bcounter packets \d+ bytes \d+\s*/g, '').replace(/\s+/g, ' ').trim();
}

/** One line of `nft -a monitor` output; undefined for lines that are no trace event. */
export function parseTraceLine(line: string): TraceEvent | undefined {
  const m = HEAD.exec(line.trimEnd());
  if (!m) return undefined;
  const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string];
  const base = { id, family, table, chain };
  if (rest.startsWith('packet: ')) return { ...base, kind: 'packet', packet: parsePacket(rest.slice(8)) };
  if (rest.startsWith('policy ')) return { ...base, kind: 'policy', verdict: rest.slice(7).trim() };
  if (rest.startsWith('verdict ')) return { ...base, kind: 'verdict', verdict: rest.slice(8).trim() };
  if (rest.startsWith('rule ') || rest.startsWith('unknown rule')) {
    const verdict = /\(verdict ([^)]+)\)\s*$/.exec(rest)?.[1];
    const body = rest.replace(/\s*\(verdict [^)]+\)\s*$/, '');
    const handle = /(?:# handle|unknown rule handle) (\d+)$/.exec(body)?.[1];
    const rule = body.startsWith('unknown rule') ? undefined : tidyRule(body.slice(5).replace(/\s*# handle \d+$/, ''));
    return { ...base, kind: 'rule', ...(rule !== undefined ? { rule } : {}), ...(handle ? { handle: Number(handle) } : {}), ...(verdict ? { verdict } : {}) };
  }
  return undefined;
}

/** Every trace event of a monitor's output, in the order printed. */
export function parseTrace(text: string): TraceEvent[] {
  return text.split('\n').flatMap((l) => {
    const e = parseTraceLine(l);
    return e ? [e] : [];
  });
}
