/** The daemon as a process on loopback: state file, HTTP endpoints, reloads by rename and SIGHUP, bad data, signals. */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dnsPacket from 'dns-packet';
import { dataProblem, metricsText, parseArgs, parseData, stateOf } from '../../../../dist/components/cluster-dns/daemon.js';
import { DnsServer } from '../../../../dist/components/cluster-dns/server.js';
import { daemonStateFile } from '../../../../dist/model/daemons.js';
import { fixture } from '../../../fixtures/dns/data.js';
import { eventually } from '../../../helpers/eventually.js';

const MAIN = fileURLToPath(new URL('../../../../src/components/cluster-dns/main.ts', import.meta.url));
/** The TypeScript loader this test runs under, for the daemon's process. */
const loader = process.execArgv.filter((a) => /tsx|typescript/.test(a));

interface Daemon {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDaemon(t: Test, runDir: string, args: string[]): Daemon {
  const child = spawn(process.execPath, [...loader, MAIN, runDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out, exited };
}

/** The value `f` gives once it gives one; an error naming `what` if it never does. */
async function waitFor<T>(what: string, f: () => T | undefined, timeout = 15000): Promise<T> {
  return (await eventually(f, { timeout, every: 20, what }))!;
}

function askUdp(port: number, name: string): Promise<dnsPacket.DecodedPacket & { rcode: string }> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no answer'));
    }, 3000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m) as dnsPacket.DecodedPacket & { rcode: string });
    });
    s.send(dnsPacket.encode({ id: 1, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] }), port, '127.0.0.1');
  });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Replaces the data file the way the agent does: a temporary file, then rename. */
function publish(dir: string, text: string): void {
  writeFileSync(join(dir, 'dns.json.tmp'), text);
  renameSync(join(dir, 'dns.json.tmp'), join(dir, 'dns.json'));
}

interface State {
  name: string;
  pid: number;
  port: number;
  readyPort: number;
  healthPort: number;
  metricsPort: number;
  serial: number;
  services: number;
  hosts: number;
  records: number;
  updatedAt: string;
}

t.test('command line and data checks', async (t) => {
  t.strictSame(parseArgs(['/run/x', '--name', 'dns/a', '--data', 'dns.json']), { runDir: '/run/x', name: 'dns/a', data: '/run/x/dns.json', port: 53, address: '0.0.0.0' });
  t.strictSame(parseArgs(['/run/x', '--name', 'n', '--data', '/abs/d.json', '--port', '5353', '--ready-port', '8181', '--health-port', '8080', '--metrics-port', '9153', '--address', '203.0.113.3']), {
    runDir: '/run/x',
    name: 'n',
    data: '/abs/d.json',
    port: 5353,
    address: '203.0.113.3',
    readyPort: 8181,
    healthPort: 8080,
    metricsPort: 9153,
  });
  t.throws(() => parseArgs([]), /usage/);
  t.throws(() => parseArgs(['/run/x', '--name', 'n']), /--data is required/);
  t.throws(() => parseArgs(['/run/x', '--name', 'n', '--data', 'd', '--port', '70000']), /port number/);
  t.throws(() => parseArgs(['/run/x', '--name', 'n', '--data', 'd', '--colour', 'red']), /unknown argument '--colour'/);
  t.equal(dataProblem(fixture()), undefined);
  t.equal(dataProblem({ ttl: 30, serial: 1, hosts: [], upstream: [] }), undefined, 'a hosts-only server');
  t.match(dataProblem({ ttl: -1, serial: 1, hosts: [], upstream: [] }), /ttl/);
  t.match(dataProblem({ ttl: 30, serial: 1, hosts: [], upstream: ['nowhere'] }), /nowhere/);
  t.match(dataProblem({ ...fixture(), cluster: { ...fixture().cluster!, services: [{ namespace: 'a', name: 'b', kind: 'NodePort', ports: [], endpoints: [] }] } }), /kind must be/);
  t.throws(() => parseData('{', 'f.json'), /f\.json is not valid JSON/);
  t.throws(() => parseData('[]', 'f.json'), /f\.json is not DNS server data: not a JSON object/);
  const server = new DnsServer(fixture(), { host: '127.0.0.1', port: 0 });
  const state = stateOf({ runDir: '/r', name: 'dns/a', data: '/r/d', port: 0, address: '127.0.0.1' }, server, { ready: 1 }, new Date(0));
  t.strictSame(state, { name: 'dns/a', address: '127.0.0.1', port: 0, readyPort: 1, serial: 42, services: 8, hosts: 1, records: server.zone.recordCount, updatedAt: '1970-01-01T00:00:00.000Z' });
  t.ok(state.records > 10);
  await server.handle(dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'nosuch.cluster.local', type: 'A' }] }), 'udp');
  t.match(metricsText(server), /^coredns_dns_requests_total\{proto="udp"\} 1$/m);
  t.match(metricsText(server), /^coredns_dns_responses_total\{rcode="NXDOMAIN"\} 1$/m);
  t.match(metricsText(server), /^kube_netlab_dns_serial 42$/m);
});

t.test('the daemon: serves, reports, reloads a new file and on SIGHUP, keeps its data on a bad file, stops on SIGTERM', { skip: loader.length ? false : 'needs the TypeScript loader tap runs under' }, async (t) => {
  const dir = t.testdir({ 'dns.json': JSON.stringify(fixture()) });
  const name = 'dns/test/coredns-1';
  const d = startDaemon(t, dir, ['--name', name, '--data', 'dns.json', '--port', '0', '--address', '127.0.0.1', '--ready-port', '0', '--health-port', '0', '--metrics-port', '0']);
  const statePath = join(dir, daemonStateFile({ name }));
  const readState = (): State | undefined => {
    try {
      return JSON.parse(readFileSync(statePath, 'utf8')) as State;
    } catch {
      return undefined;
    }
  };
  const first = await waitFor(`the state file (output: ${d.output()})`, () => {
    const s = readState();
    return s && s.pid === d.child.pid ? s : undefined;
  });
  t.strictSame([first.name, first.serial, first.services, first.hosts], [name, 42, 8, 1]);
  t.ok(first.port > 0 && first.records > 10, `port ${first.port}, ${first.records} records`);
  t.ok(await waitFor('the start in the log', () => (/serving DNS on udp and tcp 127\.0\.0\.1:\d+ .*serial 42, zone cluster\.local, 8 services, 1 hosts/.test(d.output()) ? true : undefined), 5000), 'the start in the log');

  const a = await askUdp(first.port, 'web.default.svc.cluster.local');
  t.strictSame([a.rcode, a.answers?.map((r) => (r as { data: string }).data)], ['NOERROR', ['10.96.0.20']]);
  t.strictSame(await httpGet(first.readyPort, '/ready'), { status: 200, body: 'OK' });
  t.strictSame(await httpGet(first.healthPort, '/health'), { status: 200, body: 'OK' });
  t.equal((await httpGet(first.healthPort, '/nope')).status, 404);
  const metrics = await httpGet(first.metricsPort, '/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.body, /^coredns_dns_requests_total\{proto="udp"\} 1$/m);
  t.match(metrics.body, /^coredns_dns_responses_total\{rcode="NOERROR"\} 1$/m);

  // A new snapshot by rename: picked up without a signal.
  const next = fixture({ serial: 43 });
  next.cluster!.services = next.cluster!.services.filter((s) => s.name !== 'web');
  publish(dir, JSON.stringify(next));
  const reloaded = await waitFor('the reload', () => (readState()?.serial === 43 ? readState() : undefined), 5000);
  t.equal(reloaded.services, 7);
  t.equal((await askUdp(first.port, 'web.default.svc.cluster.local')).rcode, 'NXDOMAIN', 'the cached answer went with the old data');
  t.ok(await waitFor('the reload in the log', () => (/reloaded \(.*\): serial 43/.test(d.output()) ? true : undefined), 5000), 'the reload in the log');

  // A broken snapshot: logged, the old data kept.
  publish(dir, '{"ttl": 30, "serial": 44');
  t.ok(await waitFor('the failed reload in the log', () => (/reload \(.*\) failed, keeping the running config: .*not valid JSON/.test(d.output()) ? true : undefined), 5000), 'the failed reload in the log');
  t.equal(readState()?.serial, 43);
  t.equal((await askUdp(first.port, 'db.default.svc.cluster.local')).rcode, 'NOERROR', 'still serving');

  // SIGHUP re-reads the file even when nothing seems to have changed.
  publish(dir, JSON.stringify(fixture({ serial: 45 })));
  t.ok(await waitFor('serial 45', () => (readState()?.serial === 45 ? true : undefined), 5000), 'serial 45');
  d.child.kill('SIGHUP');
  t.ok(await waitFor('the SIGHUP reload in the log', () => (/reloaded \(SIGHUP\): serial 45/.test(d.output()) ? true : undefined), 5000), 'the SIGHUP reload in the log');
  t.equal((await askUdp(first.port, 'web.default.svc.cluster.local')).rcode, 'NOERROR');

  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0, 'SIGTERM: exit 0');
  t.match(d.output(), /SIGTERM, stopping/);
});

t.test('the daemon waits for data that is not there yet, and refuses data it cannot use: exit 1 with the reason', { skip: loader.length ? false : 'needs the TypeScript loader tap runs under' }, async (t) => {
  const dir = t.testdir({ 'bad.json': '{"ttl": "soon"}' });
  // Started before the agent published its records (as `up` starts it): it waits, then reads what comes.
  const early = startDaemon(t, dir, ['--name', 'dns/x', '--data', 'dns.json', '--port', '0', '--address', '127.0.0.1']);
  t.ok(await waitFor('the daemon to wait', () => (/dns\/x: waiting for .*dns\.json, which the agent writes/.test(early.output()) ? true : undefined), 15000), 'it says it waits for the file');
  publish(dir, '{"ttl": "soon"}');
  t.equal(await early.exited, 1, 'the file that came is not usable: exit 1');
  t.match(early.output(), /dns\.json is not DNS server data: 'ttl'/);
  const bad = startDaemon(t, dir, ['--name', 'dns/x', '--data', 'bad.json', '--port', '0', '--address', '127.0.0.1']);
  t.equal(await bad.exited, 1);
  t.match(bad.output(), /bad\.json is not DNS server data: 'ttl'/);
  const usage = startDaemon(t, dir, ['--name', 'dns/x']);
  t.equal(await usage.exited, 2, 'a command line without its config file is a usage error');
  t.match(usage.output(), /--data is required/);
});
