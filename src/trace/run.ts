/**
 * One traced probe on the real kernel: an `nft monitor` and the trace table
 * in every namespace the packet can cross, one probe with a fixed local
 * port, then the rules and lookups that explain each hop. The table and the
 * monitors are removed afterwards, also on failure or Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../kernel/exec.js';
import { inNetnsEtc, netnsPath } from '../kernel/netns.js';
import { placeNames } from '../check/expected.js';
import type { Plan } from '../model/types.js';
import { EnvironmentError } from '../util/errors.js';
import { inCidr, parseIPv4 } from '../util/addresses.js';
import { shellLine } from '../util/shell-words.js';
import { parseTrace } from './events.js';
import { assembleHops, bridged, verdictOf, type Hop, type NamespaceTrace, type ProbeResult, type Verdict } from './hops.js';
import { indexRules, ruleKey, type RuleIndex } from './rulesets.js';
import { isTraceTable, renderTraceTable, traceTableName, type TracedFlow } from './table.js';
import type { TraceDestination, TraceSource } from './targets.js';

export interface TracedProbe {
  src: TraceSource;
  dst: TraceDestination;
  /** What was sent: `curl …`, `socat …`, `dig …`. */
  probe: string;
  localPort: number;
  flows: TracedFlow[];
  hops: Hop[];
  result: ProbeResult;
  verdict: Verdict;
  /** A DNS name's lookup gives the address probed next. */
  resolved?: string;
}

const nsenter = (netns: string, argv: string[]) => ['nsenter', `--net=${netnsPath(netns)}`, ...argv];

/** An `nft monitor` in one namespace, its output kept as it comes. */
class Monitor {
  private text = '';
  private waiters: Array<{ needle: string; resolve: () => void }> = [];
  readonly child: ChildProcess;

  constructor(readonly netns: string) {
    this.child = spawn('nsenter', [`--net=${netnsPath(netns)}`, 'nft', '-a', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.text += d;
      this.waiters = this.waiters.filter((w) => (this.text.includes(w.needle) ? (w.resolve(), false) : true));
    });
    this.child.on('error', () => {});
  }

  output(): string {
    return this.text;
  }

  /** Resolves true once the output holds `needle`, false after `ms`. */
  seen(needle: string, ms: number): Promise<boolean> {
    if (this.text.includes(needle)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.waiters.push({ needle, resolve: () => (clearTimeout(timer), resolve(true)) });
    });
  }

  /** Ends the monitor and waits until it is gone. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    return gone;
  }
}

/**
 * Adds a chain to the trace table and waits until the monitor reports it:
 * the monitor is subscribed and has printed every event before it. Retried,
 * because a monitor that subscribed after the change never hears of it.
 */
async function marker(m: Monitor, table: string, name: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const chain = `${name}${attempt}`;
    await run(nsenter(m.netns, ['nft', 'add', 'chain', 'inet', table, chain]), { context: `trace marker in ${m.netns}` });
    if (await m.seen(`chain inet ${table} ${chain}`, 250)) return;
  }
  throw new EnvironmentError(`'nft monitor' in ${m.netns} reports nothing: nftables tracing does not work here`, "Check that 'nft monitor trace' runs as root on this kernel.");
}

async function removeTables(namespaces: string[], table: string): Promise<void> {
  await Promise.all(namespaces.map((ns) => run(nsenter(ns, ['nft', 'delete', 'table', 'inet', table]), { context: `remove the trace table in ${ns}`, allowFailure: true })));
}

interface Probe {
  argv: string[];
  input?: string;
  describe: string;
  read: (r: { exitCode: number; stdout: string; stderr: string }) => ProbeResult & { resolved?: string };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

function probeFor(src: TraceSource, dst: TraceDestination, port: number): Probe {
  if (dst.dnsName !== undefined) {
    const argv = ['dig', '+search', '+tries=1', '+time=2', '-b', `0.0.0.0#${port}`, dst.dnsName, 'A'];
    return {
      argv: inNetnsEtc(src.netns, argv),
      describe: shellLine(argv),
      read: (r) => {
        const status = /status: (\w+)/.exec(r.stdout)?.[1];
        const answer = [...r.stdout.matchAll(/^\S+\s+\d+\s+IN\s+A\s+(\S+)$/gm)].map((m) => m[1]!);
        if (r.exitCode !== 0 || !status) return { refused: false, error: firstLine(r.stdout) || firstLine(r.stderr) || `dig exit ${r.exitCode}` };
        // The server answered either way; a name without an address is no answer for what comes next.
        return { answer: `${status}${answer.length ? ` ${answer.join(', ')}` : ', no address'}`, refused: false, ...(answer[0] ? { resolved: answer[0] } : {}) };
      },
    };
  }
  if (dst.protocol === 'udp') {
    const payload = `kube-netlab-trace-${port}`;
    const argv = ['socat', '-T', '2', '-', `UDP:${dst.ip}:${dst.port},sourceport=${port}`];
    return {
      argv: inNetnsEtc(src.netns, argv),
      input: `${payload}\n`,
      describe: shellLine(argv),
      read: (r) =>
        r.stdout.includes(payload)
          ? { answer: `echoed ${JSON.stringify(payload)}`, refused: false }
          : /Connection refused/i.test(r.stderr)
            ? { refused: true, error: firstLine(r.stderr) }
            : { refused: false, error: r.exitCode === 0 ? 'no echo within 2 s' : firstLine(r.stderr) },
    };
  }
  const url = dst.http ? dst.http.url : `http://${dst.ip}:${dst.port}/`;
  const argv = ['curl', '-sS', '-g', '-m', '3', '--local-port', String(port), '-w', '\\n%{http_code}', ...(dst.http ? ['-k', '--resolve', `${dst.http.host}:${dst.port}:${dst.ip}`] : []), url];
  return {
    argv: inNetnsEtc(src.netns, argv),
    describe: shellLine(argv),
    read: (r) => {
      if (r.exitCode !== 0) return { refused: r.exitCode === 7, error: firstLine(r.stderr) || `curl exit ${r.exitCode}` };
      const lines = r.stdout.trimEnd().split('\n');
      const status = lines.pop();
      const body = lines.join('\n');
      let who = '';
      try {
        const j = JSON.parse(body) as { pod?: string; namespace?: string; clientIP?: string };
        if (j.pod) who = ` from ${j.namespace ? `${j.namespace}/` : ''}${j.pod}, which saw the client as ${j.clientIP}`;
      } catch {
        // Not the test server's JSON (nginx's own page, a redirect): the status says enough.
      }
      return { answer: `HTTP ${status}${who}`, refused: false };
    },
  };
}

/** `conntrack -L` lines as one user-facing sentence: the connection as sent and where its replies come from. */
export function describeConntrack(line: string): string | undefined {
  const parts = [...line.matchAll(/\b(src|dst|sport|dport)=(\S+)/g)].map((m) => m[2]!);
  if (parts.length < 8) return undefined;
  const [s1, d1, sp1, dp1, s2, d2, sp2, dp2] = parts;
  const state = /\b(ESTABLISHED|TIME_WAIT|SYN_SENT|SYN_RECV|CLOSE|CLOSE_WAIT|FIN_WAIT|LAST_ACK)\b/.exec(line)?.[1];
  return `${s1}:${sp1} → ${d1}:${dp1}, answered from ${s2}:${sp2} to ${d2}:${dp2}${state ? ` (${state})` : ''}`;
}

/** The conntrack entry of a hop that rewrote the probe's addresses: what the kernel will undo on the reply. */
async function conntrackOf(h: Hop): Promise<void> {
  // A rule that rewrites: its target or statement, not a comment that mentions one.
  const rewrites = (rule: string) => /-j (DNAT|SNAT|MASQUERADE)\b|\b(dnat|snat) to\b|\bmasquerade\b/.test(rule.replace(/(--)?comment "(?:[^"\\]|\\.)*"/g, ''));
  if (h.leg !== 1 || !h.rules.some((r) => rewrites(r.rule))) return;
  const proto = h.packetIn.protocol === 'udp' ? 'udp' : 'tcp';
  if (h.packetIn.sport === undefined) return;
  const r = await run(nsenter(h.netns, ['conntrack', '-L', '-p', proto, '--orig-port-src', String(h.packetIn.sport)]), { context: `conntrack in ${h.netns}`, allowFailure: true });
  const entry = r.stdout.split('\n').map(describeConntrack).find(Boolean);
  if (entry) h.objects.push({ what: 'conntrack', text: entry });
}

/** Route, bridge and tunnel lookups for each hop the packet left through, and the conntrack entry where it was rewritten. */
async function lookups(plan: Plan, hops: Hop[]): Promise<void> {
  await Promise.all(hops.filter((h) => h.direction === 'forward').map(conntrackOf));
  await Promise.all(
    hops.map(async (h) => {
      const daddr = h.packetOut.daddr;
      if (h.direction !== 'forward' || !daddr || !parseIPv4(daddr) || h.local || h.dropped) return;
      if (bridged(h) && h.in && h.packetIn.etherDaddr) {
        // Bridged, not routed: the bridge's forwarding table picks the port.
        const fdb = await run(nsenter(h.netns, ['bridge', 'fdb', 'show', 'br', h.in]), { context: `bridge fdb in ${h.netns}`, allowFailure: true });
        const port = fdb.stdout.split('\n').find((l) => l.startsWith(`${h.packetIn.etherDaddr} dev `));
        h.objects.push({ what: 'bridge', text: `${h.in} forwards ${h.packetIn.etherDaddr} ${port ? `to port ${/dev (\S+)/.exec(port)![1]}` : 'to every port (not learned yet)'}` });
        return;
      }
      const saddr = h.packetIn.saddr && parseIPv4(h.packetIn.saddr) ? h.packetIn.saddr : undefined;
      // A forwarded packet is looked up as it arrived (source and input interface), a sent one as the socket would.
      const args = h.in && saddr ? [daddr, 'from', saddr, 'iif', h.in] : [daddr];
      const r = await run(nsenter(h.netns, ['ip', '-o', 'route', 'get', ...args]), { context: `ip route get in ${h.netns}`, allowFailure: true });
      const route = (r.exitCode === 0 ? r.stdout : r.stderr).trim().replace(/\\\s*/g, ' ').replace(/\s+/g, ' ');
      h.objects.push({ what: 'route', text: r.exitCode === 0 ? route.replace(/ cache.*$/, '').replace(/ uid \d+/, '') : `none: ${route}` });
      const dev = /\bdev (\S+)/.exec(route)?.[1];
      const node = plan.nodes.find((n) => n.netns === h.netns);
      const owner = plan.nodes.find((n) => inCidr(daddr, n.podCIDR));
      // On cloud-routes the default route is the way to other nodes' pods (the router holds their routes).
      if (plan.spec.podNetwork.backend !== 'cloud-routes' && node && owner && owner !== node && r.exitCode === 0 && !/\bdev (flannel|cbr0)/.test(route) && !route.includes(`via ${owner.ip} `)) {
        h.misrouted = `${node.name} has no route to ${owner.podCIDR} (${owner.name}'s pods): its default route sends the packet to the router`;
        h.objects.push({ what: 'route', text: `✗ ${h.misrouted}` });
      }
      const via = /\bvia (\S+)/.exec(route)?.[1] ?? daddr;
      if (dev?.startsWith('flannel.')) {
        const [neigh, fdb] = await Promise.all([
          run(nsenter(h.netns, ['ip', 'neigh', 'show', via, 'dev', dev]), { context: `ip neigh in ${h.netns}`, allowFailure: true }),
          run(nsenter(h.netns, ['bridge', 'fdb', 'show', 'dev', dev]), { context: `bridge fdb in ${h.netns}`, allowFailure: true }),
        ]);
        const mac = /lladdr (\S+)/.exec(neigh.stdout)?.[1];
        const entry = mac ? fdb.stdout.split('\n').find((l) => l.startsWith(`${mac} `)) : undefined;
        const dst = entry ? /\bdst (\S+)/.exec(entry)?.[1] : undefined;
        const vni = plan.spec.podNetwork.vxlan;
        h.objects.push({ what: 'vxlan', text: mac ? `neighbour ${via} is VTEP ${mac}; fdb ${mac} dst ${dst ?? '(none!)'}: VNI ${vni.vni}, outer UDP to ${dst ?? '?'}:${vni.port}` : `no neighbour entry for ${via} on ${dev}` });
      } else if (dev === 'flannel0') {
        const node = plan.nodes.find((n) => inCidr(daddr, n.podCIDR));
        h.objects.push({ what: 'udp', text: `TUN flannel0 to the udp daemon, which sends the packet in a UDP datagram to ${node ? `${node.name} ${node.ip}` : '?'}:${plan.spec.podNetwork.udp.port}` });
      } else if (dev && /^(cbr0|br0)$/.test(dev)) {
        const neigh = await run(nsenter(h.netns, ['ip', 'neigh', 'show', via, 'dev', dev]), { context: `ip neigh in ${h.netns}`, allowFailure: true });
        const mac = /lladdr (\S+)/.exec(neigh.stdout)?.[1];
        if (mac) {
          const fdb = await run(nsenter(h.netns, ['bridge', 'fdb', 'show', 'br', dev]), { context: `bridge fdb in ${h.netns}`, allowFailure: true });
          const port = fdb.stdout.split('\n').find((l) => l.startsWith(`${mac} dev `));
          h.objects.push({ what: 'bridge', text: `${dev}: ${via} is ${mac}${port ? ` on port ${/dev (\S+)/.exec(port)![1]}` : ' (port not learned yet)'}` });
        }
      }
    }),
  );
}

async function readRules(namespaces: string[]): Promise<Map<string, RuleIndex>> {
  const out = new Map<string, RuleIndex>();
  await Promise.all(
    namespaces.map(async (ns) => {
      const [nft, ipt] = await Promise.all([
        run(nsenter(ns, ['nft', '-a', 'list', 'ruleset']), { context: `nft list ruleset in ${ns}`, allowFailure: true }),
        run(nsenter(ns, ['iptables-save']), { context: `iptables-save in ${ns}`, allowFailure: true }),
      ]);
      out.set(ns, indexRules(nft.stdout, ipt.stdout));
    }),
  );
  return out;
}

/** Local ports of every TCP and UDP socket in a namespace, whatever its state (a TIME_WAIT of an earlier trace holds its port for a minute). */
export function portsInUse(procNet: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNet.split('\n')) {
    const local = /^\s*\d+:\s+[0-9A-F]+:([0-9A-F]{4})\s/.exec(line);
    if (local) ports.add(parseInt(local[1]!, 16));
  }
  return ports;
}

/**
 * The probe's source port: below the kernel's ephemeral range (32768-60999)
 * and the NodePorts (30000-32767), so no other connection of the lab picks
 * it, and free in the source's namespace, where an earlier trace's
 * connection may still wait out TIME_WAIT on the port it drew.
 */
async function freeLocalPort(netns: string): Promise<number> {
  const listed = await run(nsenter(netns, ['cat', '/proc/net/tcp', '/proc/net/udp']), { context: `the ports in use in ${netns}`, allowFailure: true });
  const used = portsInUse(listed.stdout);
  for (;;) {
    const port = randomInt(20000, 30000);
    if (!used.has(port)) return port;
  }
}

/** One probe from `src` to `dst` with tracing on along the way. */
export async function traceProbe(plan: Plan, src: TraceSource, dst: TraceDestination, namespaces: string[]): Promise<TracedProbe> {
  const localPort = await freeLocalPort(src.netns);
  const flows: TracedFlow[] = [{ protocol: dst.dnsName !== undefined ? 'udp' : dst.protocol, localPort, ...(dst.targets.length ? { targets: dst.targets } : {}) }];
  for (const ip of dst.secondLeg?.from ?? []) flows.push({ protocol: 'tcp', from: { ip, ports: dst.secondLeg!.ports } });
  const table = traceTableName(localPort);
  const places = placeNames(plan);
  const monitors = namespaces.map((ns) => new Monitor(ns));
  // Loads still running when we clean up could add a table after its removal: cleanup waits for them.
  let loading: Promise<unknown> = Promise.resolve();
  const cleanup = async () => {
    await loading;
    await Promise.all([...monitors.map((m) => m.stop()), removeTables(namespaces, table)]);
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const text = renderTraceTable(flows, table);
    const loads = Promise.allSettled(namespaces.map((ns) => run(nsenter(ns, ['nft', '-f', '-']), { context: `load the trace table in ${ns}`, input: text })));
    loading = loads;
    const failed = (await loads).find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    await Promise.all(monitors.map((m) => marker(m, table, 'ready')));
    const probe = probeFor(src, dst, localPort);
    const r = await run(probe.argv, { context: `probe ${probe.describe}`, input: probe.input ?? '', allowFailure: true, timeoutMs: 8000 });
    const result = probe.read(r);
    // Every event of the probe was printed before the marker that follows it.
    await Promise.all(monitors.map((m) => marker(m, table, 'done')));
    // For recording what nft printed (the unit tests' fixtures come from such recordings).
    const dump = process.env.KUBE_NETLAB_TRACE_DUMP;
    if (dump) {
      for (const m of monitors) writeFileSync(join(dump, `${m.netns}.trace`), m.output());
      writeFileSync(join(dump, 'probe.json'), `${JSON.stringify({ source: src.netns, flows, places: Object.fromEntries(monitors.map((m) => [m.netns, places.get(m.netns) ?? m.netns])), result }, null, 2)}\n`);
    }
    const traces: NamespaceTrace[] = monitors.map((m) => ({ netns: m.netns, place: places.get(m.netns) ?? m.netns, events: parseTrace(m.output()) }));
    const touched = traces.filter((t) => t.events.some((e) => e.kind === 'rule' && !isTraceTable(e.table))).map((t) => t.netns);
    const rules = await readRules(touched);
    const hops = assembleHops(traces, flows, (ns, e) => (e.handle !== undefined ? rules.get(ns)?.get(ruleKey(e.family, e.table, e.chain, e.handle)) : undefined), src.netns);
    await lookups(plan, hops);
    const forward = hops.filter((h) => h.direction === 'forward' && h.leg === 1);
    const last = forward.at(-1);
    const misrouted = forward.find((h) => h.misrouted);
    const noRoute = misrouted ? { place: misrouted.place, text: misrouted.misrouted! } : last && !last.local && !last.dropped && last.objects.some((o) => o.what === 'route' && o.text.startsWith('none')) ? { place: last.place, text: last.objects.find((o) => o.what === 'route')!.text.replace(/^none: /, '') } : undefined;
    const { resolved, ...probeResult } = result;
    return { src, dst, probe: probe.describe, localPort, flows, hops, result: probeResult, verdict: verdictOf(hops, probeResult, noRoute), ...(resolved ? { resolved } : {}) };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}

