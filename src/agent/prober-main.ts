/**
 * The kubelet's prober for one node: `node dist/agent/prober-main.js`, run
 * by the agent inside the node's network namespace (`nsenter --net`), so
 * probes leave from the node as a kubelet's do. Reads one JSON job per line
 * on stdin and writes one JSON result per line on stdout:
 *
 *   {"id": 1, "kind": "http", "ip": "10.244.1.2", "port": 8080, "path": "/ready", "timeoutMs": 1000}
 *   {"id": 1, "ok": false, "detail": "HTTP probe failed with statuscode: 503"}
 *
 * Like the kubelet, an HTTP status from 200 to 399 is a success.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

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

function httpProbe(job: ProbeJob): Promise<ProbeResult> {
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

function tcpProbe(job: ProbeJob): Promise<ProbeResult> {
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

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let job: ProbeJob;
  try {
    job = JSON.parse(line) as ProbeJob;
  } catch {
    process.stderr.write(`prober: ignoring a line that is not JSON: ${line.slice(0, 200)}\n`);
    return;
  }
  void (job.kind === 'http' ? httpProbe(job) : tcpProbe(job)).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
});
// The agent closing our stdin means it is gone: so are we.
lines.on('close', () => process.exit(0));
