/**
 * Runs probes from inside the namespaces: pings, connections and HTTP
 * requests from sockets this process opens there; `curl`, `dig` and
 * `tcpdump` as the real tools. Tools enter only the network namespace
 * (`nsenter --net`), which is all a packet needs and much cheaper than a
 * full `ip netns exec`.
 */
import { agentStatus, describeDaemon } from '../agent/client.js';
import { labDir } from '../apply/state.js';
import { run } from '../kernel/exec.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { netnsPath } from '../kernel/netns.js';
import { NETNS_ETC } from '../render/files.js';
import { captureWhile } from './capture.js';
import type { Probe } from './checks.js';
import { classifyFrame, pcapFrames } from './pcap.js';
import { dig, type DigResult } from './dig.js';
import { httpGet } from './http-get.js';
import { pingOnce } from './ping.js';
import { shareProblem, type IngressProbe } from './ingress-checks.js';
import { PROBE_TIMEOUT_MS } from '../reachability/run.js';
import { probeConnect } from '../reachability/probe.js';

export interface ProbeResult {
  ok: boolean;
  /** What was seen, for the report: "64 bytes from ...", "clientIP 10.244.1.2". */
  detail: string;
}

const inNetns = (netns: string, argv: string[]) => ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv];

async function ping(netns: string, ip: string, waitSeconds: number) {
  return run(inNetns(netns, ['ping', '-n', '-c', '1', '-W', String(waitSeconds), ip]), { context: `ping ${ip} from ${netns}`, allowFailure: true });
}

async function curl(netns: string, url: string, maxSeconds: number) {
  return run(inNetns(netns, ['curl', '-sS', '--max-time', String(maxSeconds), url]), { context: `curl ${url} from ${netns}`, allowFailure: true });
}

/**
 * A file as a process started with `ip netns exec` in `netns` reads it:
 * ip bind-mounts each entry of /etc/netns/<netns>/ over the same name in
 * /etc, so the namespace's own copy when there is one, else the host's.
 * Read here, where a process per pod would cost more than the rest of a
 * large lab's checks.
 */
async function readAsSeenIn(netns: string, path: string): Promise<{ text: string; error?: undefined } | { error: string }> {
  const own = path.startsWith('/etc/') ? `${NETNS_ETC}/${netns}/${path.slice('/etc/'.length).split('/')[0]}` : undefined;
  const file = own && existsSync(own) ? `${NETNS_ETC}/${netns}/${path.slice('/etc/'.length)}` : path;
  try {
    return { text: await readFile(file, 'utf8') };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** Where a dns probe's answer comes from: by default its own dig; `verify` batches them per namespace (run.ts). */
export type DnsLookup = (probe: Extract<Probe, { kind: 'dns' }>) => Promise<DigResult>;

const ownDig: DnsLookup = (probe) => dig(probe.from.netns, probe.name, probe.type, { search: probe.search, tcp: probe.tcp });

export async function runProbe(probe: Probe, lookup: DnsLookup = ownDig): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'ping': {
      const waitSeconds = probe.waitSeconds ?? 2;
      const own = await pingOnce(probe.from.netns, probe.ip, waitSeconds * 1000);
      if (own) {
        return own.replied ? { ok: true, detail: `ping ${probe.ip}: ${own.line}` } : { ok: false, detail: `ping ${probe.ip} from ${probe.from.label} got no reply: ${own.detail}` };
      }
      const r = await ping(probe.from.netns, probe.ip, waitSeconds);
      const reply = r.stdout.split('\n').find((l) => l.includes('bytes from')) ?? '';
      return r.exitCode === 0
        ? { ok: true, detail: `ping ${probe.ip}: ${reply.trim()}` }
        : { ok: false, detail: `ping ${probe.ip} from ${probe.from.label} got no reply: ${firstLine(r.stdout + r.stderr)}` };
    }
    case 'http': {
      const url = `http://${probe.ip}:${probe.port}/`;
      const r = await httpGet(probe.from.netns, probe.ip, probe.port, '/', probe.timeoutMs ?? 3000);
      if (!r.ok) return { ok: false, detail: `GET ${url} from ${probe.from.label} failed: ${r.error}` };
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(r.body) as Record<string, unknown>;
      } catch {
        return { ok: false, detail: `GET ${url} answered something that is not the test server's JSON: ${firstLine(r.body)}` };
      }
      const wrong = Object.entries(probe.expect).filter(([k, v]) => body[k] !== v);
      if (wrong.length) {
        return {
          ok: false,
          detail: `GET ${url} from ${probe.from.label}: ${wrong.map(([k, v]) => `${k} is ${JSON.stringify(body[k])}, expected ${JSON.stringify(v)}`).join('; ')}`,
        };
      }
      return { ok: true, detail: `GET ${url}: pod ${String(body.pod)} container ${String(body.container)} saw client ${String(body.clientIP)}` };
    }
    case 'unreachable': {
      const [p, c] = await Promise.all([
        ping(probe.from.netns, probe.ip, 1),
        probe.port ? curl(probe.from.netns, `http://${probe.ip}:${probe.port}/`, 2) : Promise.resolve(undefined),
      ]);
      if (p.exitCode === 0) return { ok: false, detail: `ping ${probe.ip} from ${probe.from.label} was answered; it must not be` };
      if (c && c.exitCode === 0) return { ok: false, detail: `GET http://${probe.ip}:${probe.port}/ from ${probe.from.label} was answered; it must not be` };
      // Silence only counts when the probe itself ran: ping sent its packet, curl tried to connect (7) or timed out (28).
      if (!/packets transmitted/.test(p.stdout) && !/Network is unreachable|No route to host/i.test(p.stderr)) return { ok: false, detail: `ping ${probe.ip} from ${probe.from.label} could not run: ${firstLine(p.stderr) || `exit ${p.exitCode}`}` };
      if (c && c.exitCode !== 7 && c.exitCode !== 28) return { ok: false, detail: `curl http://${probe.ip}:${probe.port}/ from ${probe.from.label} could not run: ${firstLine(c.stderr) || `exit ${c.exitCode}`}` };
      return { ok: true, detail: `ping: ${firstLine(p.stdout.split('\n').slice(1).join('\n')) || 'no reply'}${c ? `; curl: ${firstLine(c.stderr)}` : ''}` };
    }
    case 'root-isolated': {
      return rootIsolated(probe.netns);
    }
    case 'encapsulation':
      return encapsulation(probe);
    case 'daemon':
      return daemon(probe);
    case 'service':
      return service(probe);
    case 'dns':
      return dns(probe, lookup);
    case 'file': {
      const r = await readAsSeenIn(probe.netns, probe.path);
      if (r.error !== undefined) return { ok: false, detail: `${probe.label}: cannot read ${probe.path}: ${r.error}` };
      return r.text === probe.content
        ? { ok: true, detail: `${probe.label} ${probe.path}: ${r.text.trim().split('\n').join(' | ')}` }
        : { ok: false, detail: `${probe.label} ${probe.path} is ${JSON.stringify(r.text)}, expected ${JSON.stringify(probe.content)}` };
    }
    case 'http-status': {
      const url = `http://${probe.ip}:${probe.port}/`;
      const r = await run(inNetns(probe.from.netns, ['curl', '-sS', '--max-time', '3', '-w', '\n%{http_code}', url]), { context: `curl ${url}`, allowFailure: true });
      const lines = r.stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      const body = lines.join('\n');
      if (r.exitCode === 0 && status === probe.status && body.includes(probe.body)) return { ok: true, detail: `GET ${url}: ${status} ${body.trim()}` };
      return { ok: false, detail: `GET ${url} from ${probe.from.label}: expected ${probe.status} with ${probe.body}, got ${r.exitCode === 0 ? `${status} ${body.trim()}` : firstLine(r.stderr)}` };
    }
    case 'refused':
    case 'dropped': {
      const url = `http://${probe.ip}:${probe.port}/`;
      const r = await curl(probe.from.netns, url, 2);
      // curl: 7 = could not connect (a RST or an ICMP error came back before the 2 s limit), 28 = nothing came back.
      // The exit code is the verdict; how long the processes took to start is no part of it.
      const want = probe.kind === 'refused' ? 7 : 28;
      const said = firstLine(r.stderr) || `curl exit ${r.exitCode}`;
      if (r.exitCode === want) return { ok: true, detail: `GET ${url} from ${probe.from.label}: ${said}` };
      return { ok: false, detail: `GET ${url} from ${probe.from.label} should be ${probe.kind === 'refused' ? 'refused at once' : 'dropped (no answer)'}, got: ${r.exitCode === 0 ? 'an answer' : said}` };
    }
    case 'udp-echo':
    case 'udp-silent': {
      const payload = `kube-netlab-${process.pid}-${Date.now()}`;
      const r = await run(inNetns(probe.from.netns, ['socat', '-T', '1', '-', `UDP:${probe.ip}:${probe.port}`]), { context: `udp to ${probe.ip}:${probe.port}`, input: `${payload}\n`, allowFailure: true, timeoutMs: 3000 });
      const echoed = r.stdout.includes(payload);
      const what = `udp ${probe.ip}:${probe.port} from ${probe.from.label}`;
      if (probe.kind === 'udp-echo') return echoed ? { ok: true, detail: `${what}: echoed` } : { ok: false, detail: `${what}: no echo within 1 s ${firstLine(r.stderr)}` };
      if (echoed) return { ok: false, detail: `${what}: echoed, but the service has no endpoints` };
      // Silence only counts when socat ran: it ends at its 1 s inactivity timeout (exit 0) or on the ICMP port-unreachable of a REJECT.
      if (r.exitCode !== 0 && !/Connection refused/i.test(r.stderr)) return { ok: false, detail: `${what}: the probe could not run: ${firstLine(r.stderr) || `exit ${r.exitCode}`}` };
      return { ok: true, detail: `${what}: no echo${r.exitCode ? ' (refused)' : ''}` };
    }
    case 'mtu': {
      const args = (size: number) => inNetns(probe.from.netns, ['ping', '-n', '-c', '1', '-W', '2', '-M', 'do', '-s', String(size), probe.ip]);
      const [fits, tooBig] = await Promise.all([
        run(args(probe.fits), { context: `DF ping ${probe.ip}`, allowFailure: true }),
        run(args(probe.tooBig), { context: `DF ping ${probe.ip}`, allowFailure: true }),
      ]);
      if (fits.exitCode !== 0) return { ok: false, detail: `ping -M do -s ${probe.fits} ${probe.ip} failed: ${firstLine(fits.stdout.split('\n').slice(1).join('\n') + fits.stderr)}` };
      const said = tooBig.stdout + tooBig.stderr;
      if (tooBig.exitCode === 0 || !/message too long/i.test(said)) {
        return { ok: false, detail: `ping -M do -s ${probe.tooBig} ${probe.ip} should be refused with "message too long", got exit ${tooBig.exitCode}: ${firstLine(said)}` };
      }
      return { ok: true, detail: `-s ${probe.fits} answered; -s ${probe.tooBig}: ${firstLine(said.split('\n').find((l) => /too long/i.test(l)) ?? '')}` };
    }
    case 'ingress':
      return ingress(probe);
    case 'connect': {
      const o = await probeConnect({ netns: probe.from.netns, ip: probe.ip, port: probe.port, protocol: probe.protocol, timeoutMs: PROBE_TIMEOUT_MS, ...(probe.zone ? { zone: probe.zone } : {}) });
      const what = `${probe.protocol} ${probe.ip}:${probe.port} from ${probe.from.label}`;
      // A policy drops silently: blocked means no answer at all, not a refusal.
      const ok = probe.expect === 'allowed' ? o.outcome === 'connected' : o.outcome === 'timeout';
      return { ok, detail: `${what}: ${o.detail}${ok ? '' : `; expected ${probe.expect === 'allowed' ? 'a connection' : 'no answer (dropped)'}`}` };
    }
    case 'bytes': {
      const url = `http://${probe.ip}:${probe.port}/bytes/${probe.size}`;
      const r = await run(inNetns(probe.from.netns, ['curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{size_download}', url]), {
        context: `curl ${url}`,
        allowFailure: true,
      });
      const got = Number(r.stdout.trim());
      return r.exitCode === 0 && got === probe.size
        ? { ok: true, detail: `GET ${url}: ${got} bytes` }
        : { ok: false, detail: `GET ${url} from ${probe.from.label}: ${r.exitCode === 0 ? `${got} bytes, expected ${probe.size}` : firstLine(r.stderr)}` };
    }
  }
}

/** A 32-bit big-endian value of a dotted address, for tcpdump byte-offset filters. */
/** Requests through a service, each on a fresh connection, and what answered them. */
async function service(probe: Extract<Probe, { kind: 'service' }>): Promise<ProbeResult> {
  const url = `http://${probe.ip}:${probe.port}/`;
  const answers: { pod: string; clientIP: string }[] = [];
  let failure: string | undefined;
  // One after another, each on a new connection (a new conntrack entry, so kube-proxy picks again).
  for (let i = 0; i < probe.tries; i++) {
    const r = await httpGet(probe.from.netns, probe.ip, probe.port, '/', 3000);
    if (!r.ok) {
      failure ??= r.error;
      continue;
    }
    try {
      const body = JSON.parse(r.body) as { pod?: string; clientIP?: string };
      answers.push({ pod: String(body.pod), clientIP: String(body.clientIP) });
    } catch {
      return { ok: false, detail: `GET ${url} from ${probe.from.label} answered something that is not the test server's JSON: ${r.body.slice(0, 120)}` };
    }
  }
  const where = `GET ${url} from ${probe.from.label}`;
  if (failure !== undefined || answers.length < probe.tries) {
    return { ok: false, detail: `${where}: ${answers.length}/${probe.tries} answered; ${failure ?? 'no answer'}` };
  }
  const seen = [...new Set(answers.map((a) => a.pod))];
  const stranger = seen.find((pod) => !probe.allowed.includes(pod));
  if (stranger) return { ok: false, detail: `${where}: answered by ${stranger}, which is not an endpoint here (expected one of ${probe.allowed.join(', ')})` };
  const missing = probe.mustSee.filter((pod) => !seen.includes(pod));
  if (missing.length) return { ok: false, detail: `${where}: ${missing.join(', ')} never answered in ${probe.tries} requests (answers: ${seen.join(', ')})` };
  if (probe.sameEndpoint && seen.length > 1) return { ok: false, detail: `${where}: answered by ${seen.join(', ')}; sessionAffinity ClientIP should keep one endpoint` };
  const c = probe.clientIP;
  if (c) {
    for (const a of answers) {
      if (c.unlessFrom !== undefined && a.pod === c.unlessFrom) continue;
      if (c.onlyFrom !== undefined && a.pod !== c.onlyFrom) continue;
      if (c.equals !== undefined && a.clientIP !== c.equals) return { ok: false, detail: `${where}: ${a.pod} saw client ${a.clientIP}, expected ${c.equals}` };
      if (c.not !== undefined && a.clientIP === c.not) return { ok: false, detail: `${where}: ${a.pod} saw client ${a.clientIP}; it should have been NATed` };
    }
  }
  const counts = seen.map((pod) => `${pod} x${answers.filter((a) => a.pod === pod).length}`).join(', ');
  return { ok: true, detail: `${where}: ${counts}; client seen as ${[...new Set(answers.map((a) => a.clientIP))].join(', ')}` };
}

/** Asks the agent whether the daemon serves, then looks for its socket with `ss` in the node's namespace. */
async function daemon(probe: Extract<Probe, { kind: 'daemon' }>): Promise<ProbeResult> {
  let status;
  try {
    status = await agentStatus(labDir(probe.lab));
  } catch (err) {
    return { ok: false, detail: `cannot ask the agent about ${probe.name}: ${(err as Error).message}` };
  }
  const d = status.daemons.find((x) => x.name === probe.name);
  if (!d) return { ok: false, detail: `the agent does not run ${probe.name}; run \`up\` again` };
  if (!d.ready) return { ok: false, detail: describeDaemon(d) };
  const where = `${probe.listen.ip}:${probe.listen.port}`;
  const ss = await run(inNetns(probe.node.netns, ['ss', '-Hlun', 'sport', '=', `:${probe.listen.port}`]), { context: `ss in ${probe.node.label}`, allowFailure: true });
  if (!ss.stdout.split('\n').some((l) => l.includes(where))) {
    return { ok: false, detail: `the agent reports ${probe.name} ready (pid ${d.pid}), but nothing listens on udp ${where} in ${probe.node.label}: ${firstLine(ss.stdout + ss.stderr) || 'no socket'}` };
  }
  return { ok: true, detail: `pid ${d.pid}, ${d.restartCount} restart(s), udp ${where} bound` };
}

function hex(ip: string): string {
  return '0x' + ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
}

async function encapsulation(probe: Extract<Probe, { kind: 'encapsulation' }>): Promise<ProbeResult> {
  const { expect } = probe;
  // Match exactly this probe's packets, so other checks' traffic on the same wire cannot be mistaken for it.
  const filter =
    expect.kind === 'vxlan'
      ? ['udp', 'dst', 'port', String(expect.port), 'and', `udp[42:4]=${hex(probe.srcIp)}`, 'and', `udp[46:4]=${hex(probe.ip)}`]
      : expect.kind === 'udp'
        ? ['udp', 'dst', 'port', String(expect.port), 'and', `udp[20:4]=${hex(probe.srcIp)}`, 'and', `udp[24:4]=${hex(probe.ip)}`]
        : ['icmp', 'and', 'src', 'host', probe.srcIp, 'and', 'dst', 'host', probe.ip];
  let pcap: Buffer;
  try {
    pcap = await captureWhile({ netns: probe.node.netns, device: 'eth0', filter, count: 1, timeoutMs: 3000 }, () =>
      ping(probe.from.netns, probe.ip, 2),
    );
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
  const frames = pcapFrames(pcap);
  const seen = frames.map((f) => classifyFrame(f, { vxlan: expect.kind === 'vxlan' ? expect.port : -1, udp: expect.kind === 'udp' ? expect.port : -1 }));
  const first = seen[0];
  if (!first) return { ok: false, detail: `tcpdump on ${probe.node.label} eth0 (${filter.join(' ')}) saw no packet of the probe` };
  const where = `${probe.node.label} eth0`;
  if (first.kind !== expect.kind) return { ok: false, detail: `${where}: the probe travelled as ${first.kind}, expected ${expect.kind}` };
  if (first.kind === 'plain') {
    return first.outer.src === probe.srcIp && first.outer.dst === probe.ip
      ? { ok: true, detail: `${where}: IPv4 ${first.outer.src} > ${first.outer.dst}, no outer header` }
      : { ok: false, detail: `${where}: IPv4 ${first.outer.src} > ${first.outer.dst}, expected the pod IPs` };
  }
  const innerOk = first.inner.src === probe.srcIp && first.inner.dst === probe.ip;
  const vniOk = first.kind !== 'vxlan' || (expect.kind === 'vxlan' && first.vni === expect.vni);
  const outer = `${first.outer.src}:${first.srcPort} > ${first.outer.dst}:${first.dstPort}`;
  const vni = first.kind === 'vxlan' ? ` VNI ${first.vni}` : '';
  return innerOk && vniOk
    ? { ok: true, detail: `${where}: UDP ${outer}${vni} carrying ${first.inner.src} > ${first.inner.dst}` }
    : { ok: false, detail: `${where}: UDP ${outer}${vni} carrying ${first.inner.src} > ${first.inner.dst}; expected inner ${probe.srcIp} > ${probe.ip}${expect.kind === 'vxlan' ? ` VNI ${expect.vni}` : ''}` };
}

/**
 * Reads (never changes) the root namespace: a veth whose peer lives in one of
 * the lab's namespaces would be a path in from the host.
 */
async function rootIsolated(labNetns: string[]): Promise<ProbeResult> {
  const ids = await run(['ip', '-j', 'netns', 'list-id'], { context: 'list netns ids of the root namespace', allowFailure: true });
  const links = await run(['ip', '-j', 'link', 'show'], { context: 'list root namespace links' });
  const idToName = new Map<number, string>();
  try {
    for (const e of JSON.parse(ids.stdout || '[]') as { nsid: number; name?: string }[]) if (e.name) idToName.set(e.nsid, e.name);
  } catch {
    // Older iproute2 prints nothing useful; links alone still show peers by id.
  }
  const wanted = new Set(labNetns);
  const leaks = (JSON.parse(links.stdout) as { ifname: string; link_netnsid?: number }[]).filter(
    (l) => l.link_netnsid !== undefined && wanted.has(idToName.get(l.link_netnsid) ?? ''),
  );
  return leaks.length
    ? { ok: false, detail: `root namespace links into the lab: ${leaks.map((l) => `${l.ifname} -> ${idToName.get(l.link_netnsid!)}`).join(', ')}` }
    : { ok: true, detail: 'no root-namespace interface has its peer in a lab namespace' };
}

async function dns(probe: Extract<Probe, { kind: 'dns' }>, lookup: DnsLookup): Promise<ProbeResult> {
  const r = await lookup(probe);
  const how = `dig ${probe.search ? '+search ' : ''}${probe.tcp ? '+tcp ' : ''}${probe.name} ${probe.type} from ${probe.from.label}`;
  if (!r.status) return { ok: false, detail: `${how}: no answer (${firstLine(r.text) || 'timeout'})` };
  const got = r.answers.filter((a) => a.type === probe.type).map((a) => a.data).sort();
  const problems: string[] = [];
  if (r.status !== probe.expect.rcode) problems.push(`status ${r.status}, expected ${probe.expect.rcode}`);
  if (probe.expect.answers && JSON.stringify(got) !== JSON.stringify([...probe.expect.answers].sort())) {
    problems.push(`answers [${got.join(', ')}], expected [${[...probe.expect.answers].sort().join(', ')}]`);
  }
  const cname = r.answers.find((a) => a.type === 'CNAME')?.data;
  if (probe.expect.cname && cname !== probe.expect.cname) problems.push(`CNAME ${cname ?? 'none'}, expected ${probe.expect.cname}`);
  if (problems.length) return { ok: false, detail: `${how}: ${problems.join('; ')}` };
  return { ok: true, detail: `${how}: ${r.status}${got.length ? ` ${got.join(', ')}` : ''} (${r.ms} ms)` };
}

/** Marks the end of one answer in curl's output: status and Location header follow. */
const ANSWER_END = '@@kube-netlab-answer';

interface IngressAnswer {
  status: number;
  location: string;
  pod?: string;
  target?: string;
}

/** One answer's body: the test server's JSON (after a gRPC frame's 5-byte prefix), or nginx's own page. */
function parseAnswer(body: string, status: number, location: string): IngressAnswer {
  const json = body.slice(Math.max(0, body.indexOf('{')));
  try {
    const doc = JSON.parse(json) as { pod?: string; request?: { target?: string } };
    return { status, location, ...(doc.pod ? { pod: doc.pod } : {}), ...(doc.request?.target ? { target: doc.request.target } : {}) };
  } catch {
    // nginx's own pages (404, 308, 503) are HTML.
    return { status, location };
  }
}

async function ingress(probe: IngressProbe): Promise<ProbeResult> {
  const url = `${probe.scheme}://${probe.host}:${probe.port}${probe.path}`;
  const count = probe.count ?? 1;
  const argv = [
    'curl',
    '-sS',
    '--path-as-is',
    '--max-time',
    '3',
    '--resolve',
    `${probe.host}:${probe.port}:${probe.ip}`,
    '-w',
    `\n${ANSWER_END} %{http_code} %header{location}\n`,
    ...(probe.caFile ? ['--cacert', probe.caFile] : []),
    ...(probe.cookies ? ['-b', ''] : []),
    ...(probe.headers ?? []).flatMap((h) => ['-H', h]),
    ...(probe.grpc ? ['--http2', '-H', 'content-type: application/grpc', '-H', 'te: trailers', '--data-binary', '@-'] : []),
    ...Array.from({ length: count }, () => url),
  ];
  // A gRPC message of zero bytes: no compression flag, length 0.
  const r = await run(inNetns(probe.from.netns, argv), { context: `curl ${url} from ${probe.from.label}`, allowFailure: true, ...(probe.grpc ? { input: '\0'.repeat(5 * count) } : {}) });
  const what = `${url}${count > 1 ? ` x${count}` : ''}${probe.headers?.length ? ` (${probe.headers.join(', ')})` : ''} via ${probe.ip}`;
  if (r.exitCode !== 0) return { ok: false, detail: `${what} from ${probe.from.label} failed: ${firstLine(r.stderr) || `curl exit ${r.exitCode}`}` };
  const answers: IngressAnswer[] = [];
  let rest = r.stdout;
  for (let i = rest.indexOf(ANSWER_END); i >= 0; i = rest.indexOf(ANSWER_END)) {
    const eol = rest.indexOf('\n', i);
    const [status, location] = rest.slice(i + ANSWER_END.length + 1, eol < 0 ? undefined : eol).split(' ');
    answers.push(parseAnswer(rest.slice(0, i), Number(status), location ?? ''));
    rest = eol < 0 ? '' : rest.slice(eol + 1);
  }
  const e = probe.expect;
  const pods = [...new Set(answers.map((a) => a.pod ?? 'nginx'))];
  const seen = `${[...new Set(answers.map((a) => a.status))].join('/')} from ${pods.map((p) => (p === 'nginx' ? 'nginx' : `pod ${p}`)).join(', ')}`;
  const problems: string[] = [];
  if (answers.length !== count) problems.push(`${answers.length} answer(s), expected ${count}`);
  if (answers.some((a) => a.status !== e.status)) problems.push(`expected ${e.status}`);
  if (e.location !== undefined && answers.some((a) => a.location !== e.location)) problems.push(`Location ${answers.find((a) => a.location !== e.location)?.location || 'none'}, expected ${e.location}`);
  if (e.pods && answers.some((a) => !a.pod || !e.pods!.includes(a.pod))) problems.push(`expected one of ${e.pods.join(', ')}`);
  if (e.target !== undefined && answers.some((a) => a.target !== e.target)) problems.push(`the backend got ${answers.find((a) => a.target !== e.target)?.target ?? 'nothing'}, expected ${e.target}`);
  const silent = (e.each ?? []).filter((group) => !answers.some((a) => a.pod && group.includes(a.pod)));
  for (const group of silent) problems.push(`none of ${count} answers came from ${group.join(', ')}`);
  // A silent side already says the split is wrong; otherwise the canary's count must lie in its binomial region.
  const share = e.share && !silent.length ? shareProblem(e.share, answers.map((a) => a.pod)) : undefined;
  if (share) problems.push(share);
  if (e.samePod && pods.length !== 1) problems.push('expected every answer from the same pod (cookie affinity)');
  const target = e.target !== undefined && e.target !== probe.path ? `, backend got ${e.target}` : '';
  if (problems.length) return { ok: false, detail: `${what}: ${seen}; ${problems.join('; ')}` };
  return { ok: true, detail: `${what}: ${seen}${target}${e.location ? ` -> ${e.location}` : ''}` };
}
