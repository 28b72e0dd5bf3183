/**
 * A steady stream of HTTP requests, each on a new connection (so a load
 * balancer picks a node for every one), for measuring what a failure
 * costs: run inside a namespace,
 *
 *   node dist/bench/request-stream.js URL DURATION_MS [INTERVAL_MS] [TIMEOUT_MS] [HOST]
 *
 * it prints one JSON line: how many requests were sent and answered, and
 * when each failed one was sent (ms from the start) with why. A request
 * that gets no answer within the timeout counts as lost.
 */
import { request } from 'node:http';

export interface StreamFailure {
  /** When it was sent, in ms from the start of the stream. */
  atMs: number;
  /** When it was sent, on the machine's clock (ms since the epoch), to order it against log lines. */
  sentAt: number;
  error: string;
  /** The client's port, when it had one: the key to the flow in conntrack tables on the way. */
  localPort?: number;
}

export interface StreamResult {
  url: string;
  sent: number;
  ok: number;
  failures: StreamFailure[];
  durationMs: number;
}

function once(url: string, timeoutMs: number, host?: string): Promise<{ error: string; localPort?: number } | undefined> {
  return new Promise((done) => {
    let port: number | undefined;
    const resolve = (error: string | undefined) => done(error === undefined ? undefined : { error, ...(port ? { localPort: port } : {}) });
    const req = request(url, { agent: false, timeout: timeoutMs, ...(host ? { headers: { host } } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode !== undefined && res.statusCode < 500 ? undefined : `HTTP ${res.statusCode}`));
      res.on('error', (err) => resolve(err.message));
    });
    req.on('timeout', () => {
      port = req.socket?.localPort;
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

/** `host`: the Host header to send (an ingress rule's host) when the URL names an address. */
export async function stream(url: string, durationMs: number, intervalMs = 20, timeoutMs = 1000, host?: string): Promise<StreamResult> {
  const started = performance.now();
  const pending: Promise<void>[] = [];
  const result: StreamResult = { url, sent: 0, ok: 0, failures: [], durationMs };
  while (performance.now() - started < durationMs) {
    const atMs = Math.round(performance.now() - started);
    const sentAt = Date.now();
    result.sent++;
    pending.push(
      once(url, timeoutMs, host).then((failed) => {
        if (failed === undefined) result.ok++;
        else result.failures.push({ atMs, sentAt, ...failed });
      }),
    );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await Promise.all(pending);
  result.failures.sort((a, b) => a.atMs - b.atMs);
  return result;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [url, duration, interval, timeout, host] = process.argv.slice(2);
  if (!url || !duration) {
    process.stderr.write('usage: request-stream.js URL DURATION_MS [INTERVAL_MS] [TIMEOUT_MS] [HOST]\n');
    process.exit(2);
  }
  const r = await stream(url, Number(duration), interval ? Number(interval) : undefined, timeout ? Number(timeout) : undefined, host);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
