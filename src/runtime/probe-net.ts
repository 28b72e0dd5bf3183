/**
 * One HTTP or TCP check, as the kubelet probes: HTTP 200-399 or an accepted
 * connection within the timeout is a success. The cloud load balancer's
 * health checks leave from its own namespace; the agent's kubelet probes
 * pass `socket`, an unconnected TCP socket made in the pod's node namespace.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ProbeJob {
  id: number;
  kind: 'http' | 'tcp';
  ip: string;
  port: number;
  path?: string;
  timeoutMs: number;
}

export interface ProbeResult {
  id: number;
  ok: boolean;
  detail: string;
}

/** Makes the unconnected socket a probe connects from; without it, the caller's namespace. */
export type SocketSource = () => Socket;

/** Connects `socket()`'s socket, or a new one of this namespace. */
function dial(job: ProbeJob, socket?: SocketSource): Socket {
  if (!socket) return connect({ host: job.ip, port: job.port });
  return socket().connect({ host: job.ip, port: job.port });
}

export function httpProbe(job: ProbeJob, socket?: SocketSource): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const failed = (err: Error) => resolve({ id: job.id, ok: false, detail: `Get "http://${job.ip}:${job.port}${job.path ?? '/'}": ${err.message}` });
    let connection: Socket | undefined;
    try {
      connection = socket ? dial(job, socket) : undefined;
    } catch (err) {
      failed(err as Error);
      return;
    }
    // As the kubelet's prober: one connection per probe, closed after the answer.
    const options = { host: job.ip, port: job.port, path: job.path ?? '/', method: 'GET', timeout: job.timeoutMs, headers: { 'User-Agent': 'kube-probe/kube-netlab', Connection: 'close' } };
    const req = request({ ...options, ...(connection ? { createConnection: () => connection } : { agent: false }) }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 400;
      resolve({ id: job.id, ok, detail: ok ? `HTTP ${status}` : `HTTP probe failed with statuscode: ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${job.timeoutMs} ms`)));
    req.on('error', failed);
    req.end();
  });
}

export function tcpProbe(job: ProbeJob, source?: SocketSource): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let socket: Socket;
    try {
      socket = dial(job, source);
    } catch (err) {
      resolve({ id: job.id, ok: false, detail: `dial tcp ${job.ip}:${job.port}: ${(err as Error).message}` });
      return;
    }
    socket.setTimeout(job.timeoutMs);
    socket.once('connect', () => {
      socket.destroy();
      resolve({ id: job.id, ok: true, detail: 'connected' });
    });
    socket.once('timeout', () => socket.destroy(new Error(`timeout after ${job.timeoutMs} ms`)));
    socket.once('error', (err) => resolve({ id: job.id, ok: false, detail: `dial tcp ${job.ip}:${job.port}: ${err.message}` }));
  });
}
