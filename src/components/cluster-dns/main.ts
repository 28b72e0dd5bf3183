/**
 * A lab DNS server as a daemon, started by the agent inside a network
 * namespace (a cluster DNS pod, or the internet side's resolver):
 *
 *   node dist/components/cluster-dns/main.js <runDir> --name <daemon> --data <file> [--port 53]
 *        [--address 0.0.0.0] [--ready-port 8181] [--health-port 8080] [--metrics-port 9153]
 *
 * `--data` (relative paths are under runDir) is the DnsServerData JSON the
 * agent replaces, by rename, whenever the lab changes. The server reloads
 * it within a second: the directory is watched for that file name, with a
 * poll of its inode, mtime and size behind it; SIGHUP reloads too. A file
 * that cannot be used is logged and the old data kept; at start it is an
 * exit 1.
 *
 * Once serving (UDP and TCP on the port, every address unless --address),
 * it writes <runDir>/<daemonStateFile({name})> atomically (temporary file,
 * then rename) with its pid, ports, serial and counts, and again after
 * every reload. The optional HTTP ports are CoreDNS's: `/ready` (200 "OK"
 * once serving with data loaded), `/health` (200 "OK") and Prometheus
 * `/metrics`. SIGTERM or SIGINT closes everything and exits 0.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { fileIdentity, writeAtomic } from '../../util/files.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { log } from '../../runtime/log.js';
import { daemonStateFile } from '../../model/daemons.js';
import { describeData, metricsText, parseArgs, parseData, readData, stateOf, type DaemonOptions } from './daemon.js';
import { DnsServer } from './server.js';

/** The safety net behind the directory watch; a reload is due within 1 s of a change. */
const POLL_MS = 500;
/** How long SIGTERM waits for sockets to close before exiting anyway. */
const STOP_GRACE_MS = 2000;

function httpServer(host: string, port: number, path: string, respond: () => { status: number; body: string; type?: string }): Promise<Server> {
  const s = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    const { status, body, type } = respond();
    res.writeHead(status, { 'content-type': type ?? 'text/plain; charset=utf-8' }).end(body);
  });
  return new Promise((resolve, reject) => {
    s.once('error', (err) => reject(new Error(`cannot serve ${path} on TCP ${host}:${port}: ${err.message}`)));
    s.listen(port, host, () => {
      s.removeAllListeners('error');
      s.on('error', (err) => log(`${path} server: ${err.message}`));
      resolve(s);
    });
  });
}

/** The data file's identity (fileIdentity), '' while it is missing. */
function identity(path: string): string {
  try {
    return fileIdentity(path);
  } catch {
    return '';
  }
}

/** What the signals do; until the server is up, SIGHUP has nothing to reload and SIGTERM nothing to close. */
const signals = {
  reload: (_why: string): void => log('SIGHUP before serving: the data is read at start anyway'),
  stop: (_signal: string): void => process.exit(0),
};

async function run(opts: DaemonOptions): Promise<void> {
  const initial = readData(opts.data);
  const server = new DnsServer(initial.data, { host: opts.address, port: opts.port, log });
  let lastText = initial.text;
  let seen = identity(opts.data);
  let ready = false;
  await server.start();
  log(`${opts.name}: serving DNS on udp and tcp ${opts.address}:${server.port} from ${opts.data}: ${describeData(server)}`);

  const http: Server[] = [];
  const ports: { ready?: number; health?: number; metrics?: number } = {};
  const listen = async (key: keyof typeof ports, port: number | undefined, path: string, respond: () => { status: number; body: string; type?: string }) => {
    if (port === undefined) return;
    const s = await httpServer(opts.address, port, path, respond);
    http.push(s);
    ports[key] = (s.address() as AddressInfo).port;
  };
  await listen('ready', opts.readyPort, '/ready', () => (ready ? { status: 200, body: 'OK' } : { status: 503, body: 'not ready\n' }));
  await listen('health', opts.healthPort, '/health', () => ({ status: 200, body: 'OK' }));
  await listen('metrics', opts.metricsPort, '/metrics', () => ({ status: 200, body: metricsText(server), type: 'text/plain; version=0.0.4; charset=utf-8' }));

  const statePath = join(opts.runDir, daemonStateFile({ name: opts.name }));
  const writeState = () => {
    try {
      writeAtomic(statePath, `${JSON.stringify(stateOf(opts, server, ports), null, 2)}\n`);
    } catch (err) {
      log(`cannot write the state file ${statePath}: ${(err as Error).message}`);
    }
  };
  ready = true;
  writeState();

  const reload = (why: string) => {
    const now = identity(opts.data);
    const forced = why === 'SIGHUP';
    if (!forced && (now === seen || now === '')) return;
    seen = now;
    let text: string;
    try {
      text = readFileSync(opts.data, 'utf8');
    } catch (err) {
      log(`reload (${why}) failed, keeping serial ${server.data.serial}: cannot read ${opts.data}: ${(err as Error).message}`);
      return;
    }
    if (!forced && text === lastText) return;
    try {
      server.setData(parseData(text, opts.data));
    } catch (err) {
      log(`reload (${why}) failed, keeping serial ${server.data.serial}: ${(err as Error).message}`);
      return;
    }
    lastText = text;
    writeState();
    log(`reloaded (${why}): ${describeData(server)}`);
  };

  let watcher: FSWatcher | undefined;
  const file = basename(opts.data);
  try {
    watcher = watch(dirname(opts.data), (_event, name) => {
      if (name === null || name.toString() === file) reload('file changed');
    });
    watcher.on('error', (err) => log(`watch of ${dirname(opts.data)} failed (${err.message}); polling every ${POLL_MS} ms only`));
  } catch (err) {
    log(`cannot watch ${dirname(opts.data)} (${(err as Error).message}); polling every ${POLL_MS} ms only`);
  }
  const poll = setInterval(() => reload('poll'), POLL_MS);

  signals.reload = reload;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${opts.name}: ${signal}, stopping`);
    clearInterval(poll);
    watcher?.close();
    for (const h of http) h.close();
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    void server.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  signals.stop = stop;
}

async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  process.on('SIGHUP', () => signals.reload('SIGHUP'));
  process.on('SIGTERM', () => signals.stop('SIGTERM'));
  process.on('SIGINT', () => signals.stop('SIGINT'));
  log(`${opts.name}: dns server ${process.pid} starting`);
  await run(opts);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  log(`dns: fatal: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
