/**
 * `npm run soak`: the lab's lifecycle run over and over, killed at random
 * points, its agent and daemons killed under load, with a second lab up
 * beside it all along. After every step nothing of a removed lab may be
 * left (namespace, mount, /etc/netns entry, run directory, marked process)
 * and the root namespace must be as it was (links, addresses, routes,
 * rules, iptables, nftables, sysctls, conntrack entries of lab addresses).
 * Writes bench/soak.md; exits 1 when any step left something.
 *
 * SOAK_CYCLES (100), SOAK_KILLS (50) and SOAK_SEED (random) change the run;
 * the seed is printed, so a run that found something can be repeated.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentStatus, waitAgentReady } from '../agent/client.js';
import { checkLab } from '../check/index.js';
import type { Plan } from '../model/types.js';
import { labDir } from '../apply/state.js';
import { leftovers, rootSnapshot, snapshotDifferences } from './host-state.js';
import type { StreamResult } from './request-stream.js';
import { seededRandom } from '../util/random.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const STREAM = fileURLToPath(new URL('./request-stream.js', import.meta.url));
const DEFAULT_LAB = fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));
const REPORT = fileURLToPath(new URL('../../bench/soak.md', import.meta.url));

const CYCLED = 'soak-a';
const BESIDE = 'soak-b';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI; with `killAfterMs`, sends it SIGKILL then (the point of the kill is the last progress line it printed). */
function cli(args: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const sec = (ms: number) => (ms / 1000).toFixed(2);

interface Finding {
  step: string;
  what: string[];
}

class Soak {
  readonly findings: Finding[] = [];
  steps = 0;
  private readonly baseline = rootSnapshot();
  private besideNamespaces = 0;

  constructor(private readonly log: (line: string) => void) {}

  /** The lab beside the cycled one: its namespaces all there and its agent answering. */
  async besideIntact(): Promise<string[]> {
    const namespaces = leftovers(BESIDE).filter((l) => l.startsWith('netns ')).length;
    const problems: string[] = [];
    if (namespaces !== this.besideNamespaces) problems.push(`${BESIDE}: ${namespaces} namespaces, ${this.besideNamespaces} before`);
    try {
      await agentStatus(labDir(BESIDE), 3000);
    } catch (err) {
      problems.push(`${BESIDE}: agent: ${(err as Error).message}`);
    }
    return problems;
  }

  rememberBeside(): void {
    this.besideNamespaces = leftovers(BESIDE).filter((l) => l.startsWith('netns ')).length;
  }

  /** After a step that removed the cycled lab: nothing of it left, the root untouched, the other lab intact. */
  async afterRemoval(step: string, removed: string[] = [CYCLED], besideUp = true): Promise<boolean> {
    this.steps++;
    const what = removed.flatMap((l) => leftovers(l));
    for (const key of snapshotDifferences(this.baseline, rootSnapshot())) what.push(`root namespace: ${key} changed`);
    if (besideUp) what.push(...(await this.besideIntact()));
    if (what.length) {
      this.findings.push({ step, what });
      this.log(`soak: ${step}: ${what.join('; ')}`);
    }
    return what.length === 0;
  }
}

async function mustSucceed(args: string[], what: string): Promise<Run> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`${what}: kube-netlab ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr.slice(-2000)}`);
  return r;
}

/** The default lab with one more web replica: an `apply` that adds a pod and changes a service's endpoints. */
function scaledLab(): string {
  const file = join(tmpdir(), `kube-netlab-soak-${process.pid}.yaml`);
  const text = readFileSync(DEFAULT_LAB, 'utf8');
  const scaled = text.replace(/(# Three replicas spread over the three nodes\.\n(?:.*\n)*?\s+replicas: )3/, '$14');
  if (scaled === text) throw new Error(`${DEFAULT_LAB}: cannot find the web Deployment's replicas to scale`);
  writeFileSync(file, scaled);
  return file;
}

interface CycleStats {
  up: number[];
  down: number[];
  verified: number;
}

async function cycles(soak: Soak, n: number, log: (l: string) => void): Promise<CycleStats> {
  const stats: CycleStats = { up: [], down: [], verified: 0 };
  for (let i = 1; i <= n; i++) {
    const up = await mustSucceed(['up', '-f', DEFAULT_LAB, '--name', CYCLED], `cycle ${i}`);
    stats.up.push(up.ms);
    // Every tenth lab is proven whole, beside the other one.
    if (i % 10 === 0) {
      await mustSucceed(['verify', '--name', CYCLED], `cycle ${i}: verify`);
      stats.verified++;
    }
    const down = await mustSucceed(['down', '--name', CYCLED], `cycle ${i}: down`);
    stats.down.push(down.ms);
    await soak.afterRemoval(`cycle ${i}`);
    if (i % 10 === 0) log(`soak: ${i}/${n} up/down cycles`);
  }
  return stats;
}

type KillOp = 'up' | 'apply' | 'down';

interface KillRecord {
  op: KillOp;
  afterMs: number;
  /** The last progress line before the kill, or that it had finished. */
  at: string;
  clean: boolean;
}

async function kills(soak: Soak, n: number, random: () => number, typical: Record<KillOp, number>, log: (l: string) => void): Promise<KillRecord[]> {
  const scaled = scaledLab();
  const out: KillRecord[] = [];
  const ops: KillOp[] = ['up', 'apply', 'down'];
  for (let i = 0; i < n; i++) {
    const op = ops[i % 3]!;
    if (op !== 'up') await mustSucceed(['up', '-f', DEFAULT_LAB, '--name', CYCLED], `kill ${i + 1}: the lab to ${op}`);
    const afterMs = Math.round(random() * typical[op]);
    const args = op === 'up' ? ['up', '-f', DEFAULT_LAB, '--name', CYCLED] : op === 'apply' ? ['apply', '-f', scaled, '--name', CYCLED] : ['down', '--name', CYCLED];
    const r = await cli(args, afterMs);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('kube-netlab: '));
    const at = r.signal === 'SIGKILL' ? `killed after: ${lines.at(-1)?.slice('kube-netlab: '.length) ?? '(nothing printed yet)'}` : `finished first (exit ${r.code})`;
    await mustSucceed(['down', '--name', CYCLED], `kill ${i + 1}: down after the kill`);
    const clean = await soak.afterRemoval(`kill -9 of ${op} after ${afterMs} ms (${at})`);
    out.push({ op, afterMs, at, clean });
    if ((i + 1) % 10 === 0) log(`soak: ${i + 1}/${n} kills`);
  }
  return out;
}

interface VictimRecord {
  victim: string;
  recoveredMs: number;
  lost: number;
  sent: number;
  verified: boolean;
  checkClean: boolean;
}

/** Kills the agent and each daemon of the lab beside, one at a time, under a request stream through the load balancer and the ingress. */
async function killUnderLoad(soak: Soak, log: (l: string) => void): Promise<VictimRecord[]> {
  const runDir = labDir(BESIDE);
  const plan = JSON.parse(readFileSync(join(runDir, 'plan.json'), 'utf8')) as Plan;
  const client = plan.internet.clients[0]!.netns;
  const ingressIP = plan.services.find((s) => s.namespace === 'ingress-nginx' && s.loadBalancerIP)!.loadBalancerIP!;
  const storefrontIP = plan.services.find((s) => s.name === 'storefront' && s.loadBalancerIP)!.loadBalancerIP!;
  const status = await agentStatus(runDir);
  const victims = [...status.daemons.map((d) => d.name), 'agent'];
  const out: VictimRecord[] = [];
  for (const victim of victims) {
    // Two streams from the external client, through the cloud load balancer, the nodes' kube-proxy and nginx.
    const streams = [
      spawnStream(client, `http://${ingressIP}/`, 'www.example.com'),
      spawnStream(client, `http://${storefrontIP}/`),
    ];
    await new Promise((r) => setTimeout(r, 500));
    const before = await agentStatus(runDir);
    const killedAt = performance.now();
    if (victim === 'agent') {
      process.kill(before.pid, 'SIGKILL');
      await waitFor(async () => {
        try {
          const s = await agentStatus(runDir, 1000);
          return s.pid !== before.pid;
        } catch {
          return false;
        }
      });
      await waitAgentReady(runDir, 30_000);
    } else {
      const d = before.daemons.find((x) => x.name === victim)!;
      process.kill(d.pid!, 'SIGKILL');
      await waitFor(async () => (await agentStatus(runDir)).daemons.some((x) => x.name === victim && x.ready && x.pid !== d.pid));
    }
    const recoveredMs = performance.now() - killedAt;
    const results = await Promise.all(streams);
    const checkClean = await waitFor(async () => (await checkLab(plan)).differences.length === 0, 15_000);
    const verified = (await cli(['verify', '--name', BESIDE])).code === 0;
    out.push({
      victim,
      recoveredMs,
      sent: results.reduce((n, r) => n + r.sent, 0),
      lost: results.reduce((n, r) => n + r.failures.length, 0),
      verified,
      checkClean,
    });
    if (!verified || !checkClean) soak.findings.push({ step: `kill -9 of ${victim} under load`, what: [`${!checkClean ? 'check not clean' : ''} ${!verified ? 'verify failed' : ''} after it was back`.trim()] });
    await soak.afterRemoval(`kill -9 of ${victim} under load`, [CYCLED]);
    log(`soak: ${victim} killed, back after ${sec(recoveredMs)} s`);
  }
  return out;
}

/** A request stream inside a namespace for 4 s, one request every 20 ms. */
function spawnStream(netns: string, url: string, host?: string): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, STREAM, url, '4000', '20', '1000', ...(host ? [host] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as StreamResult) : reject(new Error(`request stream to ${url} in ${netns} exited ${code}: ${err}`))));
  });
}

async function waitFor(f: () => Promise<boolean>, timeoutMs = 30_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (await f()) return true;
    } catch {
      // Not yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function report(seed: number, started: Date, totalMs: number, soak: Soak, c: CycleStats, k: KillRecord[], v: VictimRecord[]): string {
  const byOp = (op: KillOp) => k.filter((x) => x.op === op);
  const lines = [
    '# kube-netlab soak',
    '',
    `Run ${started.toISOString().slice(0, 10)} on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, by \`npm run soak\` (seed ${seed}, ${sec(totalMs)} s in all).`,
    '',
    `Two copies of the default lab: \`${CYCLED}\` goes through everything below while \`${BESIDE}\` stays up beside it all along. After every step the soak looks for what is left of a removed lab (network namespaces, their bind mounts, \`/etc/netns\` entries, the run directory, processes carrying the lab's marker), compares the root namespace with its state before the run (links, addresses, routes, rules, \`iptables-save\`, \`nft list ruleset\`, forwarding and bridge sysctls, conntrack entries naming a lab address) and checks that \`${BESIDE}\` still has all its namespaces and an agent that answers.`,
    '',
    '| phase | steps | steps that left something |',
    '|-------|------:|--------------------------:|',
    `| \`up\` / \`down\` cycles (every tenth verified) | ${c.up.length} | ${soak.findings.filter((f) => f.step.startsWith('cycle ')).length} |`,
    `| \`kill -9\` of \`up\` at a random point, then \`down\` | ${byOp('up').length} | ${byOp('up').filter((x) => !x.clean).length} |`,
    `| \`kill -9\` of \`apply\` (one more web replica) at a random point, then \`down\` | ${byOp('apply').length} | ${byOp('apply').filter((x) => !x.clean).length} |`,
    `| \`kill -9\` of \`down\` at a random point, then \`down\` | ${byOp('down').length} | ${byOp('down').filter((x) => !x.clean).length} |`,
    `| \`kill -9\` of the agent and of each daemon of \`${BESIDE}\` under load | ${v.length} | ${soak.findings.filter((f) => f.step.includes('under load')).length} |`,
    `| \`down\` of \`${BESIDE}\` at the end | 1 | ${soak.findings.filter((f) => f.step === 'final down').length} |`,
    '',
    `Cycles: \`up\` median ${sec(median(c.up))} s (min ${sec(Math.min(...c.up))}, max ${sec(Math.max(...c.up))}), \`down\` median ${sec(median(c.down))} s (max ${sec(Math.max(...c.down))}), ${c.verified} \`verify\` runs passed.`,
    '',
    'Where the kills landed (the last progress line the command had printed):',
    '',
    '| command | kills | where |',
    '|---------|------:|-------|',
    ...(['up', 'apply', 'down'] as KillOp[]).map((op) => {
      const counts = new Map<string, number>();
      for (const x of byOp(op)) counts.set(x.at.replace(/ \d+(\.\d+)? s\b.*$/, ''), (counts.get(x.at.replace(/ \d+(\.\d+)? s\b.*$/, '')) ?? 0) + 1);
      return `| \`${op}\` | ${byOp(op).length} | ${[...counts].map(([at, n]) => `${at}: ${n}`).join('; ')} |`;
    }),
    '',
    `Killed under load: two request streams from the external client (one every 20 ms each, 1 s timeout), to the ingress through its load-balancer IP and to the storefront's load-balancer IP. \`back after\` is from the kill until the agent reports the daemon serving again with a new pid (for the agent: until a new agent answers and every container, daemon and rule is in place). Requests lost are those of the 4 s streams that got no answer; afterwards \`check\` must be clean and \`verify\` pass.`,
    '',
    '| killed | back after (s) | requests sent | lost | `check` clean after | `verify` after |',
    '|--------|---------------:|--------------:|-----:|:-------------------:|:--------------:|',
    ...v.map((x) => `| ${x.victim} | ${sec(x.recoveredMs)} | ${x.sent} | ${x.lost} | ${x.checkClean ? 'yes' : 'NO'} | ${x.verified ? 'passed' : 'FAILED'} |`),
    '',
    soak.findings.length === 0 ? `Left behind: nothing, in ${soak.steps} steps.` : `Left behind (${soak.findings.length} of ${soak.steps} steps):\n\n${soak.findings.map((f) => `- ${f.step}: ${f.what.join('; ')}`).join('\n')}`,
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const nCycles = Number(process.env.SOAK_CYCLES ?? 100);
  const nKills = Number(process.env.SOAK_KILLS ?? 50);
  const random = seededRandom(seed);
  const started = new Date();
  const t0 = performance.now();
  log(`soak: seed ${seed}; ${nCycles} cycles, ${nKills} kills`);
  for (const lab of [CYCLED, BESIDE]) await cli(['down', '--name', lab]);
  const soak = new Soak(log);
  await mustSucceed(['up', '-f', DEFAULT_LAB, '--name', BESIDE], `the lab beside (${BESIDE})`);
  soak.rememberBeside();
  try {
    const c = await cycles(soak, nCycles, log);
    // Kills land anywhere in a command's usual run time, from its very start to just after it would have finished.
    await mustSucceed(['up', '-f', DEFAULT_LAB, '--name', CYCLED], 'the lab to time an apply');
    const apply = await mustSucceed(['apply', '-f', scaledLab(), '--name', CYCLED], 'a timed apply');
    await mustSucceed(['down', '--name', CYCLED], 'down after the timed apply');
    const typical = { up: median(c.up) * 1.1, apply: apply.ms * 1.1, down: median(c.down) * 1.1 };
    const k = await kills(soak, nKills, random, typical, log);
    const v = await killUnderLoad(soak, log);
    await mustSucceed(['down', '--name', BESIDE], 'final down');
    await soak.afterRemoval('final down', [CYCLED, BESIDE], false);
    const text = report(seed, started, performance.now() - t0, soak, c, k, v);
    writeFileSync(REPORT, text);
    log(`soak: ${soak.findings.length === 0 ? 'nothing left behind' : `${soak.findings.length} step(s) left something`}; ${REPORT}`);
    process.exitCode = soak.findings.length === 0 ? 0 : 1;
  } finally {
    for (const lab of [CYCLED, BESIDE]) await cli(['down', '--name', lab]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
