/**
 * Control plane cost: `up`/`down` wall time and lab memory for N pods on 3
 * nodes, next to the raw kernel work — the same rendered `ip -batch` text
 * run by a plain shell script, one `ip` per namespace, no planning, no
 * processes — measured in the same run.
 */
import { run } from '../kernel/exec.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownerOf } from '../apply/state.js';
import { deleteNamespaces } from '../kernel/netns.js';
import { planLab } from '../model/plan.js';
import { loadLab } from '../config/index.js';
import { batchText } from '../render/batch.js';
import { labNamespaces } from '../components/topology/render.js';
import { upStages } from '../components/registry.js';
import { labMemory, runToEnd, timed } from './measure.js';
import { neighbourTableOverflows } from '../kernel/neighbour-table.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** N pods of one Deployment on 3 nodes (or `nodes`), each serving TCP and UDP; with `service`, a ClusterIP Service over all of them. */
export function scaleLabYaml(lab: string, pods: number, nodes = 3, service = false): string {
  const nodeList = nodes === 3 ? '' : `\n  nodes:\n${Array.from({ length: nodes }, (_, i) => `    - {name: node${i + 1}}`).join('\n')}`;
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${lab}}
spec:
  podNetwork: {backend: host-gw}${nodeList}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: ${pods}
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, ports: [{containerPort: 8080}, {containerPort: 5353, protocol: UDP}]}]
${
  service
    ? `---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: app}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, targetPort: 5353, protocol: UDP}]
`
    : ''
}`;
}

export interface ScaleRow {
  pods: number;
  upMs: number;
  /** The part of `up` after the kernel objects: the agent, until every container answers (the pause processes start alongside the kernel objects). */
  workloadMs: number;
  downMs: number;
  rawMs: number;
  processes: number;
  /** PSS of every lab process, summed. */
  pssMb: number;
  /** The sum of each process's RSS, shared pages once per process: an upper bound. */
  rssMb: number;
}

/** Writes a shell script that builds exactly what `up` renders, and nothing else. */
function rawScript(dir: string, file: string): string {
  const plan = planLab(loadLab([file]));
  const lines = ['set -e'];
  const nsFile = join(dir, 'netns.batch');
  writeFileSync(nsFile, labNamespaces(plan).map((n) => `netns add ${n}`).join('\n') + '\n');
  lines.push(`ip -batch ${nsFile}`);
  upStages(plan).forEach((stage, s) =>
    stage.forEach((b, i) => {
      const f = join(dir, `s${s}-${i}.batch`);
      writeFileSync(f, batchText(b));
      lines.push(`ip -n ${b.netns} -batch ${f}`);
    }),
  );
  const script = join(dir, 'raw.sh');
  writeFileSync(script, lines.join('\n') + '\n');
  return script;
}

export async function measureScale(pods: number): Promise<ScaleRow> {
  const lab = `bench${pods}`;
  const dir = mkdtempSync(join(tmpdir(), 'kube-netlab-bench-'));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, scaleLabYaml(lab, pods));

  const script = rawScript(dir, file);
  const raw = await timed(() => runToEnd(['sh', script]));
  await deleteNamespaces(labNamespaces(planLab(loadLab([file]))));

  const up = await timed(() => runToEnd([process.execPath, CLI, 'up', '-f', file]));
  const mem = labMemory(ownerOf(lab));
  const down = await timed(() => runToEnd([process.execPath, CLI, 'down', '--name', lab]));
  // `up` says "starting containers" once the kernel objects are built; from there on it waits for the workload.
  const workloadFrom = up.value.find((l) => l.text.includes('starting containers'))?.atMs;
  if (workloadFrom === undefined) throw new Error(`up of ${lab} never said "starting containers"; cannot split its time`);
  return { pods, upMs: up.ms, workloadMs: up.ms - workloadFrom, downMs: down.ms, rawMs: raw.ms, processes: mem.processes, pssMb: mem.pssKb / 1024, rssMb: mem.rssKb / 1024 };
}

/** One `trace` of pod to ClusterIP, as a user runs it; whether its endpoint was on another node (the tunnel in the path). */
async function traceOnce(lab: string): Promise<{ ms: number; crossNode: boolean }> {
  const started = performance.now();
  const r = await run([process.execPath, CLI, 'trace', '--name', lab, '-o', 'json', 'default/toolbox', 'svc/default/web'], { context: 'bench trace' });
  const ms = performance.now() - started;
  const hops = (JSON.parse(r.stdout) as { probes: { hops: { direction: string; out?: string }[] }[] }).probes.at(-1)!.hops;
  return { ms, crossNode: hops.some((h) => h.direction === 'forward' && h.out?.startsWith('flannel')) };
}

export interface DefaultLabRow {
  upMs: number;
  checkMs: number;
  verifyMs: number;
  downMs: number;
  traceMs: number;
  graphMs: number;
  /** `exercise start` on the running lab (reused: check, the fault, check), the grader while broken, and once solved (verify included). */
  exercise: { startMs: number; failingMs: number; passingMs: number };
}

/** One exercise on the running default lab, as a learner goes through it; solved exercises are recorded in a scratch directory. */
async function exerciseCycle(lab: string): Promise<DefaultLabRow['exercise']> {
  const env = { KUBE_NETLAB_STATE_DIR: mkdtempSync(join(tmpdir(), 'kube-netlab-bench-')) };
  const cli = (...args: string[]) => [process.execPath, CLI, 'exercise', ...args, '--name', lab];
  const start = await timed(() => runToEnd(cli('start', 'forwarding-off'), env));
  // The grader exits 1 while the fault is in.
  const failing = await timed(() => runToEnd(cli('check'), env).then(
    () => {
      throw new Error('bench: exercise check passed with the fault in');
    },
    () => undefined,
  ));
  await runToEnd(cli('solve'), env);
  const passing = await timed(() => runToEnd(cli('check'), env));
  return { startMs: start.ms, failingMs: failing.ms, passingMs: passing.ms };
}

export async function measureDefaultLab(file: string): Promise<DefaultLabRow> {
  const lab = loadLab([file]).name;
  // The median of three: `up` starts seven processes at once on what may be two cores, so one run says as much about the host as about the lab.
  const ups: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await runToEnd([process.execPath, CLI, 'down', '--name', lab]);
    ups.push((await timed(() => runToEnd([process.execPath, CLI, 'up', '-f', file]))).ms);
  }
  const up = { ms: [...ups].sort((a, b) => a - b)[1]! };
  // The median of three: one CLI process each, with every link, route, rule and daemon compared.
  const checks: number[] = [];
  for (let i = 0; i < 3; i++) checks.push((await timed(() => runToEnd([process.execPath, CLI, 'check', '--name', lab]))).ms);
  const check = { ms: checks.sort((a, b) => a - b)[1]! };
  // The median of three traces whose endpoint was on another node (kube-proxy picks one at random).
  const traces: number[] = [];
  for (let i = 0; i < 12 && traces.length < 3; i++) {
    const t = await traceOnce(lab);
    if (t.crossNode) traces.push(t.ms);
  }
  if (traces.length < 3) throw new Error(`bench: 12 traces of default/toolbox to svc/default/web never crossed nodes 3 times`);
  const graph = await timed(() => runToEnd([process.execPath, CLI, 'graph', '--name', lab, '-o', 'svg', '--out', '/dev/null']));
  const verify = await timed(() => runToEnd([process.execPath, CLI, 'verify', '--name', lab]));
  const exercise = await exerciseCycle(lab);
  const down = await timed(() => runToEnd([process.execPath, CLI, 'down', '--name', lab]));
  return { upMs: up.ms, checkMs: check.ms, verifyMs: verify.ms, downMs: down.ms, traceMs: traces.sort((a, b) => a - b)[1]!, graphMs: graph.ms, exercise };
}

export interface LargeLabRow {
  pods: number;
  nodes: number;
  upMs: number;
  verifyMs: number;
  passed: number;
  failed: number;
  /** How often the kernel's machine-wide neighbour table was full during verify. */
  tableFulls: number;
  downMs: number;
  pssMb: number;
}

/** The largest lab the input allows: `up`, one `verify` of every path check, `down`. */
export async function measureLarge(pods: number, nodes: number): Promise<LargeLabRow> {
  const lab = `large${pods}`;
  const dir = mkdtempSync(join(tmpdir(), 'kube-netlab-bench-'));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, scaleLabYaml(lab, pods, nodes, true));
  try {
    const up = await timed(() => runToEnd([process.execPath, CLI, 'up', '-f', file]));
    const mem = labMemory(ownerOf(lab));
    const fullsBefore = neighbourTableOverflows();
    // verify exits 1 when a check fails: its report is the measurement either way.
    const verify = await timed(() => run([process.execPath, CLI, 'verify', '--name', lab, '-o', 'json'], { context: `verify of the ${pods}-pod lab`, allowFailure: true }));
    const tableFulls = neighbourTableOverflows() - fullsBefore;
    const report = JSON.parse(verify.value.stdout) as { passed: number; failed: number };
    const down = await timed(() => runToEnd([process.execPath, CLI, 'down', '--name', lab]));
    return { pods, nodes, upMs: up.ms, verifyMs: verify.ms, passed: report.passed, failed: report.failed, tableFulls, downMs: down.ms, pssMb: mem.pssKb / 1024 };
  } finally {
    await runToEnd([process.execPath, CLI, 'down', '--name', lab]).catch(() => undefined);
  }
}
