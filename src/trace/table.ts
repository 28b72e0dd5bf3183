/**
 * The temporary trace table: one `inet` table per namespace on the possible
 * path that switches nftrace on for the probe's flows only (its fixed local
 * port, both directions), rate-limited, with a chain on every hook so each
 * hook the packet passes shows in the trace with its interfaces. Runs before
 * conntrack and every lab rule (priority -350), so it sees the tuple as sent.
 */

export const TRACE_TABLE = 'kube-netlab-trace';

/** A trace's own table, named by its probe's port: two traces running at once keep apart. */
export const traceTableName = (localPort: number) => `${TRACE_TABLE}-${localPort}`;

/** Whether a table is a trace table (this trace's or another's running at the same time). */
export const isTraceTable = (name: string) => name === TRACE_TABLE || name.startsWith(`${TRACE_TABLE}-`);

export interface TracedFlow {
  protocol: 'tcp' | 'udp';
  /** The probe's own port: source going out, destination coming back. */
  localPort?: number;
  /** A connection the lab makes on the probe's behalf (nginx to a backend): from this address to these ports. */
  from?: { ip: string; ports: number[] };
  /**
   * Where the probe ends up after any DNAT (the pod, the endpoints, the
   * external server): a source NAT with a random port (kube-proxy's and
   * ip-masq's MASQUERADE) hides the probe's port past it, the destination
   * stays.
   */
  targets?: { ip: string; port: number }[];
}

function matches(f: TracedFlow): string[] {
  const l4 = `meta l4proto ${f.protocol}`;
  if (f.localPort !== undefined) {
    const targets = f.targets?.length ? `{ ${f.targets.map((t) => `${t.ip} . ${t.port}`).join(', ')} }` : undefined;
    return [
      `${l4} th sport ${f.localPort}`,
      `${l4} th dport ${f.localPort}`,
      ...(targets ? [`${l4} ip daddr . th dport ${targets}`, `${l4} ip saddr . th sport ${targets}`] : []),
    ];
  }
  if (f.from) {
    const ports = f.from.ports.length === 1 ? String(f.from.ports[0]) : `{ ${f.from.ports.join(', ')} }`;
    return [`ip saddr ${f.from.ip} ${l4} th dport ${ports}`, `ip daddr ${f.from.ip} ${l4} th sport ${ports}`];
  }
  return [];
}

/** `nft -f` text that adds the trace table (after removing one a failed trace left). */
/** Enough for a probe and its retransmissions, too few to flood a monitor if a flow matches more than it should. */
const RATE = 'limit rate 200/second burst 50 packets';

export function renderTraceTable(flows: TracedFlow[], name: string): string {
  const rules = flows.flatMap(matches).map((m) => `    ${m} ${RATE} meta nftrace set 1`);
  const hook = (name: string, withRules: boolean) => [`  chain ${name} {`, `    type filter hook ${name} priority -350; policy accept;`, ...(withRules ? rules : []), '  }'];
  return [
    `table inet ${name}`,
    `delete table inet ${name}`,
    `table inet ${name} {`,
    ...hook('prerouting', true),
    ...hook('output', true),
    ...hook('input', false),
    ...hook('forward', false),
    ...hook('postrouting', false),
    '}',
    '',
  ].join('\n');
}
