/**
 * A lab DNS server as a daemon, started by the agent inside a network
 * namespace (a cluster DNS pod, or the internet side's resolver):
 *
 *   node dist/components/cluster-dns/main.js <runDir> --name <daemon> --data <file> [--port 53]
 *        [--address 0.0.0.0] [--ready-port 8181] [--health-port 8080] [--metrics-port 9153]
 *
 * Runs on the daemon runtime (runtime/daemon.ts): its config is `--data`
 * (relative paths are under runDir), the DnsServerData JSON the agent
 * replaces, by rename, whenever the lab changes; the runtime reloads it on
 * change and on SIGHUP, and a file that cannot be used keeps the old data
 * (at start it is an exit 1).
 *
 * Once serving (UDP and TCP on the port, every address unless --address),
 * its state file holds its ports, serial and counts, again after every
 * reload. The optional HTTP ports are CoreDNS's: `/ready` (200 "OK" once
 * serving with data loaded), `/health` (200 "OK") and Prometheus
 * `/metrics`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { log } from '../../runtime/log.js';
import { runDaemon } from '../../runtime/daemon.js';
import type { DnsServerData } from './data.js';
import { describeData, DNS_ARGS, dnsOptions, metricsText, parseData, stateOf } from './daemon.js';
import { DnsServer } from './server.js';

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

runDaemon<DnsServerData>({
  ...DNS_ARGS,
  parse: parseData,
  create(ctx) {
    const opts = dnsOptions(ctx.runDir, ctx.name, ctx.flags);
    let server: DnsServer | undefined;
    let ready = false;
    const http: Server[] = [];
    const ports: { ready?: number; health?: number; metrics?: number } = {};
    const listen = async (key: keyof typeof ports, port: number | undefined, path: string, respond: () => { status: number; body: string; type?: string }) => {
      if (port === undefined) return;
      const s = await httpServer(opts.address, port, path, respond);
      http.push(s);
      ports[key] = (s.address() as AddressInfo).port;
    };
    return {
      async start(data) {
        const s = new DnsServer(data, { host: opts.address, port: opts.port, log });
        server = s;
        await s.start();
        log(`${opts.name}: serving DNS on udp and tcp ${opts.address}:${s.port} from ${opts.data}: ${describeData(s)}`);
        await listen('ready', opts.readyPort, '/ready', () => (ready ? { status: 200, body: 'OK' } : { status: 503, body: 'not ready\n' }));
        await listen('health', opts.healthPort, '/health', () => ({ status: 200, body: 'OK' }));
        await listen('metrics', opts.metricsPort, '/metrics', () => ({ status: 200, body: metricsText(s), type: 'text/plain; version=0.0.4; charset=utf-8' }));
        ready = true;
        ctx.writeState(stateOf(opts, s, ports));
      },
      reload(data, why) {
        server!.setData(data);
        ctx.writeState(stateOf(opts, server!, ports));
        log(`reloaded (${why}): ${describeData(server!)}`);
      },
      async stop() {
        for (const h of http) h.close();
        await server?.close();
      },
    };
  },
});
