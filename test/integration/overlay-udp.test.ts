/**
 * The udp overlay daemon on real namespaces, built by hand with `ip` so
 * nothing but the daemon is under test: a switch namespace with a bridge,
 * two nodes (eth0 on the bridge, cbr0 with one pod behind it, flannel0 as
 * the lab's udp backend makes it), and a daemon in each node. Nothing here
 * touches the root namespace's network configuration.
 */
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonConfigFile } from '../../dist/model/daemons.js';
import { overlayUdpDaemon } from '../../dist/components/udp/daemon.js';
import { forwardingConfig } from '../../dist/components/udp/forward.js';
import { eventually } from '../helpers/eventually.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PORT = 8285;
const NODE_MTU = 1500;
const OVERLAY_MTU = NODE_MTU - 28;

if (process.getuid?.() !== 0) {
  t.skip('the udp overlay test needs root: it creates network namespaces and TUN devices', () => {});
} else {
  const prefix = `oudp${process.pid.toString(36)}`;
  const switchNs = `${prefix}sw`;
  const nodes = [1, 2].map((i) => ({
    i,
    name: `node${i}`,
    netns: `${prefix}n${i}`,
    pod: `${prefix}p${i}`,
    ip: `192.168.77.1${i}`,
    podCIDR: `10.244.${i}.0/24`,
    tunAddress: `10.244.${i}.0`,
    gateway: `10.244.${i}.1`,
    podIP: `10.244.${i}.2`,
  }));
  const [n1, n2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const allNs = [switchNs, ...nodes.flatMap((n) => [n.netns, n.pod])];
  const work = mkdtempSync(join(tmpdir(), 'kube-netlab-overlay-udp-'));
  const runDir = join(work, 'run');
  const dist = join(work, 'dist');
  const daemons = new Map<string, ChildProcess>();
  const helpers: ChildProcess[] = [];

  // Tap's loader hooks must not leak into the processes we start.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;

  const run = (argv: string[], timeout = 20_000) => {
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, timeout });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const must = (argv: string[]) => {
    const r = run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const inNs = (ns: string, argv: string[], timeout?: number) => run(['nsenter', `--net=/run/netns/${ns}`, '--', ...argv], timeout);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const ping = (from: string, to: string, ...extra: string[]) => inNs(from, ['ping', '-n', '-c', '1', '-W', '2', ...extra, to]);
  const logOf = (node: string) => join(runDir, `overlay-udp-${node}.log`);
  const alive = (c: ChildProcess | undefined) => !!c && c.exitCode === null && c.signalCode === null;

  const waitFor = async (what: string | (() => string), ms: number, check: () => boolean) => {
    if (!(await eventually(check, { timeout: ms }))) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
  };
  const logLines = (node: string) => (existsSync(logOf(node)) ? readFileSync(logOf(node), 'utf8') : '');
  /** Waits until `node`'s log holds `needle` `count` times. */
  const waitLog = (node: string, needle: string, count = 1, ms = 10_000) =>
    waitFor(() => `'${needle}' in ${logOf(node)} (log so far:\n${logLines(node)})`, ms, () => logLines(node).split(needle).length - 1 >= count);

  const startDaemon = async (n: typeof n1) => {
    const log = openSync(logOf(n.name), 'a');
    const child = spawn('nsenter', [`--net=/run/netns/${n.netns}`, '--', process.execPath, join(dist, 'components/udp/main.js'), runDir, '--name', overlayUdpDaemon(n.name)], {
      stdio: ['ignore', log, log],
      env,
    });
    closeSync(log);
    daemons.set(n.name, child);
    const starts = logLines(n.name).split(' forwarding\n').length;
    await waitLog(n.name, ' forwarding\n', starts);
    return child;
  };
  const exited = (c: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (!alive(c)) resolve({ code: c.exitCode, signal: c.signalCode });
      else c.once('exit', (code, signal) => resolve({ code, signal }));
    });

  const planFor = (members: typeof nodes) => ({
    version: 1,
    lab: prefix,
    spec: { podNetwork: { cidr: '10.244.0.0/16', backend: 'udp', udp: { port: PORT } } },
    nodes: members.map((n) => ({ name: n.name, netns: n.netns, ip: n.ip, podCIDR: n.podCIDR, mtu: NODE_MTU, podMtu: OVERLAY_MTU })),
  });
  /** Each member's config, as the agent writes it: its forwarding table from a plan of these nodes (replaced by rename). */
  const writePlan = (members: typeof nodes) => {
    for (const n of members) {
      const file = join(runDir, daemonConfigFile({ name: overlayUdpDaemon(n.name) }));
      writeFileSync(`${file}.tmp`, JSON.stringify(forwardingConfig(planFor(members), n.name), null, 2));
      renameSync(`${file}.tmp`, file);
    }
  };

  const iperf = async () => {
    const server = spawn('nsenter', [`--net=/run/netns/${n2.pod}`, '--', 'iperf3', '-s', '-1', '-B', n2.podIP], { stdio: 'ignore', env });
    helpers.push(server);
    await waitFor('iperf3 to listen', 5000, () => /:5201\b/.test(inNs(n2.pod, ['ss', '-ltnH']).stdout));
    const r = inNs(n1.pod, ['iperf3', '-c', n2.podIP, '-t', '3', '-J'], 30_000);
    if (r.code !== 0) throw new Error(`iperf3 exited ${r.code}: ${r.stdout}${r.stderr}`);
    return (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
  };

  /** Without iperf3: time a 200 MB HTTP body from a server in pod2. */
  const httpDownload = async () => {
    const body = 200 * 1024 * 1024;
    const script = `const c=Buffer.alloc(1<<20);require('node:http').createServer((q,r)=>{r.writeHead(200,{'content-length':${body}});let n=${body / (1 << 20)};const w=()=>{while(n>0){n--;if(!r.write(c))return r.once('drain',w);}r.end();};w();}).listen(8080,'${n2.podIP}');`;
    const server = spawn('nsenter', [`--net=/run/netns/${n2.pod}`, '--', process.execPath, '-e', script], { stdio: 'ignore', env });
    helpers.push(server);
    await waitFor('the HTTP server to listen', 5000, () => /:8080\b/.test(inNs(n2.pod, ['ss', '-ltnH']).stdout));
    const r = inNs(n1.pod, ['curl', '-sS', '-o', '/dev/null', '-w', '%{speed_download}', `http://${n2.podIP}:8080/`], 60_000);
    server.kill('SIGKILL');
    if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
    return Number(r.stdout) * 8;
  };

  t.teardown(async () => {
    for (const h of helpers) if (alive(h)) h.kill('SIGKILL');
    for (const d of daemons.values()) if (alive(d)) d.kill('SIGKILL');
    await Promise.all([...daemons.values(), ...helpers].map(exited));
    for (const ns of allNs) run(['ip', 'netns', 'del', ns]);
    rmSync(work, { recursive: true, force: true });
  });

  t.test('topology: a switch, two nodes with flannel0, a pod on each', async (t) => {
    for (const ns of allNs) {
      must(['ip', 'netns', 'add', ns]);
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    must(['ip', '-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    must(['ip', '-n', switchNs, 'link', 'set', 'br0', 'up']);
    for (const n of nodes) {
      const ip = (ns: string, ...args: string[]) => must(['ip', '-n', ns, ...args]);
      ip(n.netns, 'link', 'add', 'eth0', 'mtu', String(NODE_MTU), 'type', 'veth', 'peer', 'name', `n${n.i}`, 'netns', switchNs);
      ip(switchNs, 'link', 'set', `n${n.i}`, 'master', 'br0', 'up');
      ip(n.netns, 'addr', 'add', `${n.ip}/24`, 'dev', 'eth0');
      ip(n.netns, 'link', 'set', 'eth0', 'up');
      ip(n.netns, 'link', 'add', 'cbr0', 'mtu', String(OVERLAY_MTU), 'type', 'bridge');
      ip(n.netns, 'addr', 'add', `${n.gateway}/24`, 'dev', 'cbr0');
      ip(n.netns, 'link', 'set', 'cbr0', 'up');
      ip(n.netns, 'link', 'add', 'veth0', 'mtu', String(OVERLAY_MTU), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.pod);
      ip(n.netns, 'link', 'set', 'veth0', 'master', 'cbr0', 'up');
      ip(n.pod, 'addr', 'add', `${n.podIP}/24`, 'dev', 'eth0');
      ip(n.pod, 'link', 'set', 'eth0', 'mtu', String(OVERLAY_MTU), 'up');
      ip(n.pod, 'route', 'add', 'default', 'via', n.gateway);
      ip(n.netns, 'tuntap', 'add', 'dev', 'flannel0', 'mode', 'tun');
      ip(n.netns, 'addr', 'add', `${n.tunAddress}/32`, 'dev', 'flannel0');
      ip(n.netns, 'link', 'set', 'flannel0', 'mtu', String(OVERLAY_MTU), 'up');
      ip(n.netns, 'route', 'add', '10.244.0.0/16', 'dev', 'flannel0');
      must(['nsenter', `--net=/run/netns/${n.netns}`, '--', 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    }
    t.equal(ping(n1.netns, n2.ip).code, 0, 'the node network works');
  });

  t.test('the daemon builds and starts in each node', async (t) => {
    // Only the daemon's own module graph is compiled: the shared dist/ and
    // the rest of src/ stay out of this test.
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '--outDir', dist, '--rootDir', join(ROOT, 'src'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--noUncheckedIndexedAccess', '--skipLibCheck', '--types', 'node', join(ROOT, 'src/components/udp/main.ts')],
      { cwd: ROOT, encoding: 'utf8', env },
    );
    t.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
    spawnSync('mkdir', ['-p', runDir]);
    writePlan(nodes);
    for (const n of nodes) await startDaemon(n);
    const log = logLines('node1');
    t.match(log, /^\d{4}-\d\d-\d\dT[\d:.]+Z overlay-udp\/node1: components\/udp\/main\.js \d+ starting in /m);
    t.match(log, /attached to flannel0 .*ICMP errors from 10\.244\.1\.0/);
    t.match(log, /listening on udp 192\.168\.77\.11:8285/);
    t.match(log, /routes: 10\.244\.2\.0\/24 -> node2 192\.168\.77\.12:8285/);
    t.match(inNs(n1.netns, ['ss', '-lunpH']).stdout, /192\.168\.77\.11:8285 .*node/, 'the socket is in the node namespace');
    t.notMatch(run(['ss', '-lunH']).stdout, /:8285\b/, 'nothing listens on 8285 in the root namespace');
    t.equal(run(['ip', 'link', 'show', 'flannel0']).code, 1, 'no flannel0 appeared in the root namespace');
  });

  t.test('pod to pod across nodes, TTL lowered by each routed hop', async (t) => {
    const r = inNs(n1.pod, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', n2.podIP]);
    t.equal(r.code, 0, r.stdout + r.stderr);
    // node1 forwards, daemon1 and daemon2 each act as a hop, node2 forwards.
    t.match(r.stdout, /ttl=60 /);
  });

  t.test('on the wire: one UDP 8285 datagram whose payload is the whole inner packet', async (t) => {
    const file = join(work, 'capture.pcap');
    const dump = spawn('nsenter', [`--net=/run/netns/${n1.netns}`, '--', 'tcpdump', '-n', '-U', '-i', 'eth0', '-c', '1', '-w', file, 'udp', 'port', String(PORT)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    helpers.push(dump);
    let err = '';
    dump.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    await waitFor('tcpdump to listen', 5000, () => err.includes('listening on'));
    const done = exited(dump);
    const p = ping(n1.pod, n2.podIP);
    t.equal(p.code, 0, p.stdout);
    const exit = await Promise.race([done, sleep(5000).then(() => undefined)]);
    t.ok(exit, `tcpdump captured a packet (${err})`);
    const frame = firstFrame(readFileSync(file));
    const outer = frame.subarray(14);
    t.equal(frame.readUInt16BE(12), 0x0800, 'Ethernet carries IPv4');
    t.equal(dotted(outer, 12), n1.ip, 'outer source: node1');
    t.equal(dotted(outer, 16), n2.ip, 'outer destination: node2');
    t.equal(outer[9], 17, 'outer protocol UDP');
    const ihl = (outer[0]! & 0x0f) * 4;
    const udpHeader = outer.subarray(ihl, ihl + 8);
    t.equal(udpHeader.readUInt16BE(0), PORT, 'from port 8285');
    t.equal(udpHeader.readUInt16BE(2), PORT, 'to port 8285');
    const inner = outer.subarray(ihl + 8, ihl + udpHeader.readUInt16BE(4));
    t.equal(inner[0], 0x45, 'the payload starts with an IPv4 header, no extra header');
    t.equal(inner.readUInt16BE(2), inner.length, 'the payload is exactly one whole IP packet');
    t.equal(dotted(inner, 12), n1.podIP, 'inner source: pod1');
    t.equal(dotted(inner, 16), n2.podIP, 'inner destination: pod2');
    t.equal(inner[9], 1, 'inner protocol ICMP');
    t.equal(inner[20], 8, 'an echo request');
    t.equal(inner[8], 62, 'inner TTL: node1 and daemon1 each took one');
    t.equal(checksum(inner.subarray(0, 20)), 0, 'inner header checksum verifies');
  });

  t.test('MTU: the largest DF ping crosses, one byte more is refused locally', async (t) => {
    const largest = OVERLAY_MTU - 28;
    t.equal(largest, 1444);
    const fits = ping(n1.pod, n2.podIP, '-M', 'do', '-s', String(largest));
    t.equal(fits.code, 0, fits.stdout + fits.stderr);
    t.match(fits.stdout, new RegExp(`${largest + 8} bytes from ${n2.podIP.replace(/\./g, '\\.')}`));
    const tooBig = ping(n1.pod, n2.podIP, '-M', 'do', '-s', String(largest + 1));
    t.not(tooBig.code, 0);
    t.match(tooBig.stdout + tooBig.stderr, /message too long/i);
  });

  t.test('a destination no node owns: Net Unreachable from node1 flannel0', async (t) => {
    const r = ping(n1.pod, '10.244.99.1');
    t.not(r.code, 0);
    t.match(r.stdout, /From 10\.244\.1\.0 icmp_seq=1 Destination Net Unreachable/);
  });

  t.test('a new config rebuilds the routes without a signal; SIGHUP re-reads it', async (t) => {
    writePlan([n1]);
    await waitLog('node1', 'reloaded the config: 0 peer(s); - node2 10.244.2.0/24 via 192.168.77.12:8285');
    t.match(ping(n1.pod, n2.podIP).stdout, /From 10\.244\.1\.0 icmp_seq=1 Destination Net Unreachable/, 'node2 gone: its pods are unreachable');
    writePlan(nodes);
    await waitLog('node1', 'reloaded the config: 1 peer(s); + node2 10.244.2.0/24 via 192.168.77.12:8285');
    t.equal(ping(n1.pod, n2.podIP).code, 0, 'node2 back');
    daemons.get('node1')!.kill('SIGHUP');
    await waitLog('node1', 'reloaded the config: 1 peer(s), routes unchanged');
  });

  t.test('a killed daemon stops traffic; restarted, traffic resumes', async (t) => {
    const d2 = daemons.get('node2')!;
    d2.kill('SIGKILL');
    t.same(await exited(d2), { code: null, signal: 'SIGKILL' });
    const during = inNs(n1.pod, ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', n2.podIP]);
    t.not(during.code, 0, 'no answer while node2 has no daemon');
    t.match(during.stdout, /100% packet loss/);
    await startDaemon(n2);
    let back = ping(n1.pod, n2.podIP);
    await eventually(() => back.code === 0 || (back = ping(n1.pod, n2.podIP)).code === 0, { timeout: 60_000 });
    t.equal(back.code, 0, 'answers again after the restart');
  });

  t.test('TCP throughput pod1 -> pod2 through the daemons', async (t) => {
    const bps = run(['which', 'iperf3']).code === 0 ? await iperf() : await httpDownload();
    t.comment(`pod-to-pod TCP through the udp overlay: ${(bps / 1e6).toFixed(0)} Mbit/s`);
    t.ok(bps > 0, 'data crossed');
  });

  t.test('counters: written on SIGUSR1, with traffic and drops by reason', async (t) => {
    const d1 = daemons.get('node1')!;
    const file = join(runDir, 'overlay-udp-node1.json');
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
    d1.kill('SIGUSR1');
    await waitFor('a fresh counters file', 5000, () => existsSync(file) && readFileSync(file, 'utf8') !== before);
    const stats = JSON.parse(readFileSync(file, 'utf8'));
    t.match(stats, { node: 'node1', pid: d1.pid, peers: 1 });
    t.ok(stats.tunToUdp.packets > 1000 && stats.tunToUdp.bytes > 1_000_000, `tunToUdp ${JSON.stringify(stats.tunToUdp)}`);
    t.ok(stats.udpToTun.packets > 100, `udpToTun ${JSON.stringify(stats.udpToTun)}`);
    if (run(['which', 'iperf3']).code === 0) t.ok(stats.superPackets > 0, `TCP crossed as super-packets, segmented again by the receiving kernel (${stats.superPackets})`);
    t.ok(stats.icmpUnreachableSent >= 2, 'the unreachable answers are counted');
    t.ok(stats.drops['no-route'] >= 2, `drops ${JSON.stringify(stats.drops)}`);
  });

  t.test('SIGTERM closes and exits 0, leaving flannel0 in place', async (t) => {
    for (const n of nodes) {
      const d = daemons.get(n.name)!;
      d.kill('SIGTERM');
      t.same(await exited(d), { code: 0, signal: null }, `${n.name} daemon`);
      t.match(logLines(n.name), /SIGTERM, stopping\n.*stopped\n$/);
      t.equal(inNs(n.netns, ['ip', 'link', 'show', 'flannel0']).code, 0, `${n.name} keeps its persistent flannel0`);
    }
  });
}

function dotted(b: Buffer, offset: number): string {
  return [...b.subarray(offset, offset + 4)].join('.');
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The first frame of a classic pcap file (either byte order, µs or ns timestamps), Ethernet link type. */
function firstFrame(pcap: Buffer): Buffer {
  const magic = pcap.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  }
  const u32 = (o: number) => (little ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error(`capture link type ${u32(20)}, expected 1 (Ethernet)`);
  const captured = u32(24 + 8);
  return pcap.subarray(24 + 16, 24 + 16 + captured);
}
