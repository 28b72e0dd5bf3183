/**
 * `npm run bench`: measures the lab on this machine and writes
 * bench/results.md. Numbers are measurements of one run, never assertions.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureDefaultLab, measureScale, type ScaleRow } from './lab-scale.js';

const RESULTS = fileURLToPath(new URL('../../bench/results.md', import.meta.url));
const DEFAULT_LAB = fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));

const s = (ms: number) => (ms / 1000).toFixed(2);

function machine(): string {
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${kernel}, Node ${process.version}`;
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_PODS ?? '10,100,250').split(',').map(Number);
  const rows: ScaleRow[] = [];
  for (const pods of sizes) {
    process.stderr.write(`bench: ${pods} pods\n`);
    rows.push(await measureScale(pods));
  }
  process.stderr.write('bench: default lab\n');
  const def = await measureDefaultLab(DEFAULT_LAB);

  const out = [
    '# kube-netlab benchmark results',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()} by \`npm run bench\`.`,
    '',
    '## Lab scale: pods on 3 nodes (host-gw)',
    '',
    '`raw ip -batch` runs the same rendered batches (namespaces, veths, bridge ports, addresses, routes) from a plain',
    'shell script, one `ip` per namespace, in the same run. `up` adds planning, pause processes, per-pod files and',
    'starting every container (agent) and waiting until all answer. Memory is the sum of the peak RSS of every',
    'process the lab runs (agent + one pause process per pod and node).',
    '',
    '| pods | `up` (s) | raw ip -batch (s) | up / raw | `down` (s) | lab processes | lab memory (MB) |',
    '|-----:|---------:|------------------:|---------:|-----------:|--------------:|----------------:|',
    ...rows.map(
      (r) => `| ${r.pods} | ${s(r.upMs)} | ${s(r.rawMs)} | ${(r.upMs / r.rawMs).toFixed(2)}x | ${s(r.downMs)} | ${r.processes} | ${r.peakMb.toFixed(0)} |`,
    ),
    '',
    'Targets: `up` at 100 pods within 3x of the raw baseline plus workload start and under 4 s; lab processes under 1 GB at 250 pods.',
    '',
    '## Default lab (`lab/default.yaml`: 3 nodes, 8 pods)',
    '',
    '| `up` (s) | `down` (s) |',
    '|---------:|-----------:|',
    `| ${s(def.upMs)} | ${s(def.downMs)} |`,
    '',
    'Targets: up under 3 s, down under 1 s.',
    '',
  ];
  writeFileSync(RESULTS, out.join('\n'));
  process.stdout.write(out.join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
