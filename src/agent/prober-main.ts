/**
 * The kubelet's prober for one node: `node dist/agent/prober-main.js`, run
 * by the agent inside the node's network namespace (`nsenter --net`), so
 * probes leave from the node as a kubelet's do. Reads one JSON job per line
 * on stdin and writes one JSON result per line on stdout:
 *
 *   {"id": 1, "kind": "http", "ip": "10.244.1.2", "port": 8080, "path": "/ready", "timeoutMs": 1000}
 *   {"id": 1, "ok": false, "detail": "HTTP probe failed with statuscode: 503"}
 *
 * Like the kubelet, an HTTP status from 200 to 399 is a success (probe-net.ts).
 */
import { createInterface } from 'node:readline';
import { httpProbe, tcpProbe, type ProbeJob } from '../runtime/probe-net.js';

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
