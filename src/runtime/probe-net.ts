/**
 * One HTTP or TCP check from the caller's network namespace, as the kubelet
 * probes: HTTP 200-399 or an accepted connection within the timeout is a
 * success. The kubelet's prober and the cloud load balancer's health
 * checks both use it.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

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

export function httpProbe(job: ProbeJob): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host: job.ip, port: job.port, path: job.path ?? '/', method: 'GET', timeout: job.timeoutMs, headers: { 'User-Agent': 'kube-probe/kube-netlab' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 400;
      resolve({ id: job.id, ok, detail: ok ? `HTTP ${status}` : `HTTP probe failed with statuscode: ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${job.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ id: job.id, ok: false, detail: `Get "http://${job.ip}:${job.port}${job.path ?? '/'}": ${err.message}` }));
    req.end();
  });
}

export function tcpProbe(job: ProbeJob): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: job.ip, port: job.port, timeout: job.timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ id: job.id, ok: true, detail: 'connected' });
    });
    socket.once('timeout', () => socket.destroy(new Error(`timeout after ${job.timeoutMs} ms`)));
    socket.once('error', (err) => resolve({ id: job.id, ok: false, detail: `dial tcp ${job.ip}:${job.port}: ${err.message}` }));
  });
}
