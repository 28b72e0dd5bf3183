/**
 * A lab DNS server as a daemon, started by the agent inside a network
 * namespace (a cluster DNS pod, or the internet side's resolver):
 *
 *   node dist/dns/main.js <runDir> --name <daemon> --data <file> --port 53
 *        [--address IP] [--ready-port 8181] [--health-port 8080] [--metrics-port 9153]
 *
 * `--data` (relative to runDir) is the records file the agent rewrites, by
 * rename, whenever the lab changes; the server reloads it within a second
 * without dropping a query (the directory is watched, with a poll behind
 * it), and on SIGHUP. Once serving it writes <runDir>/<daemon state file>
 * with its pid, which is how the agent knows it is up. The optional ports
 * are CoreDNS's: `/ready` (200 once records are loaded), `/health`, and
 * Prometheus `/metrics`. SIGTERM or SIGINT stops it with exit 0; a start
 * failure exits 1, for the agent to restart it.
 */
import { readFileSync, renameSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { log } from '../agent/log.js';
import { daemonStateFile } from '../model/daemons.js';
import type { DnsServerData } from './data.js';
import { DnsServer } from './server.js';

const USAGE = 'usage: node dist/dns/main.js <runDir> --name NAME --data FILE --port N [--address IP] [--ready-port N] [--health-port N] [--metrics-port N]';
const POLL_MS = 500;

interface Options {
  runDir: string;
  name: string;
  data: string;
  port: number;
  /**
   * The address to serve DNS on; all of the namespace's by default. A
   * server on a secondary address must bind it, or its UDP answers would
   * leave from the primary one and resolvers would drop them.
   */
  address: string;
  readyPort?: number;
  healthPort?: number;
  metricsPort?: number;
}

export function parseArgs(argv: string[]): Options {
  const [runDir, ...rest] = argv;
  if (!runDir || runDir.startsWith('--')) throw new Error(USAGE);
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]!;
    const value = rest[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`unexpected argument '${key}'; ${USAGE}`);
    flags.set(key.slice(2), value);
  }
  const port = (key: string): number | undefined => {
    const v = flags.get(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${key} must be a port number, not '${v}'`);
    return n;
  };
  const name = flags.get('name');
  const data = flags.get('data');
  const dnsPort = port('port');
  if (!name || !data || dnsPort === undefined) throw new Error(USAGE);
  const opts: Options = { runDir, name, data: isAbsolute(data) ? data : join(runDir, data), port: dnsPort, address: flags.get('address') ?? '0.0.0.0' };
  const ready = port('ready-port');
  const health = port('health-port');
  const metrics = port('metrics-port');
  if (ready !== undefined) opts.readyPort = ready;
  if (health !== undefined) opts.healthPort = health;
  if (metrics !== undefined) opts.metricsPort = metrics;
  return opts;
}

export function readData(path: string): DnsServerData {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the DNS records ${path}: ${(err as Error).message}; the lab agent writes it before it starts the DNS servers`);
  }
  let data: DnsServerData;
  try {
    data = JSON.parse(text) as DnsServerData;
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof data.ttl !== 'number' || !Array.isArray(data.hosts) || !Array.isArray(data.upstream)) {
    throw new Error(`${path} is not a DNS records file (ttl, hosts and upstream are required)`);
  }
  return data;
}

/** Prometheus text, with CoreDNS's metric names where one fits. */
export function metricsText(server: DnsServer): string {
  const c = server.counters;
  const lines = [
    '# TYPE coredns_dns_requests_total counter',
    ...Object.entries(c.requests).map(([proto, n]) => `coredns_dns_requests_total{proto="${proto}"} ${n}`),
    '# TYPE coredns_dns_responses_total counter',
    ...Object.entries(c.responses).map(([rcode, n]) => `coredns_dns_responses_total{rcode="${rcode}"} ${n}`),
    '# TYPE coredns_cache_hits_total counter',
    `coredns_cache_hits_total ${c.cacheHits}`,
    '# TYPE coredns_cache_misses_total counter',
    `coredns_cache_misses_total ${c.cacheMisses}`,
    '# TYPE coredns_forward_requests_total counter',
    `coredns_forward_requests_total ${c.forwards}`,
    '# TYPE coredns_forward_failures_total counter',
    `coredns_forward_failures_total ${c.forwardFailures}`,
    '# TYPE kube_netlab_dns_serial gauge',
    `kube_netlab_dns_serial ${server.data.serial}`,
  ];
  return `${lines.join('\n')}\n`;
}

function httpServer(port: number, path: string, body: () => { status: number; text: string }): Promise<Server> {
  const s = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const { status, text } = body();
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
  });
  return new Promise((resolve, reject) => {
    s.once('error', (err) => reject(new Error(`cannot listen on TCP ${port} for ${path}: ${err.message}`)));
    s.listen(port, '0.0.0.0', () => resolve(s));
  });
}

const count = (d: DnsServerData) => `serial ${d.serial}, ${d.cluster?.services.length ?? 0} services, ${d.hosts.length} hosts, upstream ${d.upstream.join(' ') || 'none'}`;

async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  const server = new DnsServer(readData(opts.data), { host: opts.address, port: opts.port, log });
  await server.start();
  log(`${opts.name} serving udp and tcp ${opts.address}:${opts.port} from ${opts.data} (${count(server.data)})`);

  const http: Server[] = [];
  if (opts.readyPort !== undefined) http.push(await httpServer(opts.readyPort, '/ready', () => ({ status: 200, text: 'OK' })));
  if (opts.healthPort !== undefined) http.push(await httpServer(opts.healthPort, '/health', () => ({ status: 200, text: 'OK' })));
  if (opts.metricsPort !== undefined) http.push(await httpServer(opts.metricsPort, '/metrics', () => ({ status: 200, text: metricsText(server) })));

  const statePath = join(opts.runDir, daemonStateFile({ name: opts.name }));
  const writeState = () => {
    const body = { name: opts.name, pid: process.pid, serial: server.data.serial, services: server.data.cluster?.services.length ?? 0, hosts: server.data.hosts.length, updatedAt: new Date().toISOString() };
    const tmp = `${statePath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`);
    renameSync(tmp, statePath);
  };
  writeState();

  // The file is replaced by rename: identity (inode) or mtime tells a new version.
  const identity = () => {
    try {
      const st = statSync(opts.data);
      return `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return '';
    }
  };
  let seen = identity();
  const reload = (why: string) => {
    const now = identity();
    if (why !== 'SIGHUP' && (now === seen || now === '')) return;
    seen = now;
    try {
      const data = readData(opts.data);
      if (why !== 'SIGHUP' && data.serial === server.data.serial) return;
      server.setData(data);
      writeState();
      log(`reloaded on ${why}: ${count(data)}`);
    } catch (err) {
      log(`reload on ${why} failed, keeping serial ${server.data.serial}: ${(err as Error).message}`);
    }
  };
  let watcher: FSWatcher | undefined;
  try {
    const file = basename(opts.data);
    watcher = watch(dirname(opts.data), (_event, name) => {
      if (name === file) reload('change');
    });
  } catch (err) {
    log(`cannot watch ${dirname(opts.data)} (${(err as Error).message}); polling every ${POLL_MS} ms only`);
  }
  const poll = setInterval(() => reload('poll'), POLL_MS);

  process.on('SIGHUP', () => reload('SIGHUP'));
  const stop = (signal: string) => {
    log(`${opts.name} stopping on ${signal}`);
    clearInterval(poll);
    watcher?.close();
    for (const h of http) h.close();
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: Error) => {
  log(`dns: ${err.message}`);
  process.exit(1);
});
