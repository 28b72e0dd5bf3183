/**
 * An HTTP GET made by this process from inside a namespace: the TCP socket
 * is created in the source's network namespace (kernel/ffi.ts) and Node's
 * own HTTP client drives it, one connection per request (`Connection:
 * close`, so a service's DNAT picks again each time). Path checks make a
 * few hundred of these per `verify`; a curl process each was most of what
 * the service checks cost.
 */
import { request } from 'node:http';
import { Socket } from 'node:net';
import { openClientSocket } from '../kernel/ffi.js';
import { netnsPath } from '../kernel/netns.js';

export type HttpAnswer = { ok: true; status: number; body: string } | { ok: false; error: string };

export function httpGet(netns: string, ip: string, port: number, path: string, timeoutMs: number): Promise<HttpAnswer> {
  let fd: number;
  try {
    fd = openClientSocket(netnsPath(netns), 'TCP');
  } catch (err) {
    return Promise.resolve({ ok: false, error: (err as Error).message });
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (a: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${timeoutMs} ms (timed out)` }), timeoutMs);
    const req = request(
      {
        host: ip,
        port,
        path,
        method: 'GET',
        headers: { Host: `${ip}:${port}`, Connection: 'close', 'User-Agent': 'kube-netlab-verify' },
        createConnection: () => {
          const socket = new Socket({ fd, readable: true, writable: true });
          socket.connect({ port, host: ip });
          return socket;
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.message }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : (err.code ?? err.message) }));
    req.end();
  });
}
