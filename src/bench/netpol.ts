/**
 * NetworkPolicy costs:
 *  - a sync of one node's policy rules (engine, compile, render, apply, as
 *    the agent does it) for 100 policies over 250 pods, full and after one
 *    pod's label changed, next to the raw `iptables-restore` / `nft -f` of
 *    the identical text in the same run, each in a fresh throwaway namespace;
 *  - the wall time of `verify --only reachability` on the upstream x/y/z
 *    model (9 x 9 cells, ports 80 and 81 over TCP, through the per-pod
 *    Services), the whole CLI process included.
 */
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parseLab } from '../config/index.js';
import { run } from '../kernel/exec.js';
import { createNamespaces, deleteNamespaces, netnsPath } from '../kernel/netns.js';
import { iptablesRestore, nftApply } from '../kernel/netfilter.js';
import { planLab } from '../model/plan.js';
import type { Plan } from '../model/types.js';
import type { ProxyMode } from '../spec/lab.js';
import { compileNode } from '../components/network-policy/compile.js';
import { PolicyEngine } from '../components/network-policy/engine.js';
import { netpolChainsIn, renderNetpolBootstrap, renderNetpolIptables } from '../components/network-policy/iptables.js';
import { renderNetpolNftables } from '../components/network-policy/nftables.js';
import { rawApply, runToEnd } from './measure.js';

const NETNS = 'kube-netlab-bench-netpol';
const RUNS = 3;
const NAMESPACES = 10;

export interface PolicySyncRow {
  mode: ProxyMode;
  pods: number;
  policies: number;
  /** Rules (iptables) or lines (nft) of the node's text. */
  size: number;
  fullMs: number;
  rawMs: number;
  labelMs: number;
  rawLabelMs: number;
}

/** 250 pods in 10 namespaces on 3 nodes, 100 policies selecting by labels, both directions, named ports, an ipBlock. */
function syntheticLab(pods: number, policies: number): string {
  const docs = ['apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: bench-np}\n'];
  for (let n = 0; n < NAMESPACES; n++) docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ns${n}, labels: {team: t${n % 3}}}\n`);
  for (let i = 0; i < pods; i++) {
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, namespace: ns${i % NAMESPACES}, labels: {app: a${i % 5}, tier: t${i % 3}}}\n` +
        `spec:\n  containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]}]\n`,
    );
  }
  for (let j = 0; j < policies; j++) {
    const egress =
      j % 4 === 0
        ? `  egress:\n    - to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: a${(j + 2) % 5}}}}]\n      ports: [{port: http}]\n    - to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]\n`
        : '';
    docs.push(
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: q${j}, namespace: ns${j % NAMESPACES}}\nspec:\n` +
        `  podSelector: {matchLabels: {app: a${j % 5}}}\n  policyTypes: [Ingress${egress ? ', Egress' : ''}]\n` +
        `  ingress:\n    - from: [{podSelector: {matchLabels: {app: a${(j + 1) % 5}}}}, {namespaceSelector: {matchLabels: {team: t${j % 3}}}, podSelector: {matchLabels: {tier: t${j % 3}}}}]\n` +
        `      ports: [{port: http}, {port: 9090}]\n${egress}`,
    );
  }
  return docs.join('---\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function fresh(mode: ProxyMode): Promise<void> {
  await deleteNamespaces([NETNS]);
  await createNamespaces([NETNS]);
  if (mode === 'iptables') await iptablesRestore(NETNS, renderNetpolBootstrap(), 'bench bootstrap');
}

/** What the agent's controller does for node1: engine, compile, render, apply. */
async function sync(mode: ProxyMode, plan: Plan, previous: string[]): Promise<{ ms: number; text: string; chains: string[] }> {
  const started = performance.now();
  const rules = compileNode(PolicyEngine.fromPlan(plan), plan.nodes[0]!);
  if (mode === 'iptables') {
    const { text, chains } = renderNetpolIptables(rules, previous);
    await iptablesRestore(NETNS, text, 'bench policy sync');
    return { ms: performance.now() - started, text, chains };
  }
  const text = renderNetpolNftables(rules);
  await nftApply(NETNS, text, 'bench policy sync');
  return { ms: performance.now() - started, text, chains: [] };
}

const raw = (mode: ProxyMode, text: string) => rawApply(netnsPath(NETNS), mode, text);

export async function measurePolicySync(mode: ProxyMode, pods = 250, policies = 100): Promise<PolicySyncRow> {
  const plan = planLab(parseLab([{ file: 'bench.yaml', text: syntheticLab(pods, policies) }]));
  // One pod on another node changes its app label: it joins and leaves peer sets of policies that node1 enforces.
  const relabelled = structuredClone(plan);
  const mover = relabelled.pods.find((p) => p.node !== plan.nodes[0]!.name && p.labels.app === 'a0')!;
  mover.labels = { ...mover.labels, app: 'a1' };
  const full: number[] = [];
  const rawFull: number[] = [];
  const label: number[] = [];
  const rawLabel: number[] = [];
  let size = 0;
  try {
    for (let i = 0; i < RUNS; i++) {
      await fresh(mode);
      const first = await sync(mode, plan, []);
      full.push(first.ms);
      size = first.text.split('\n').filter((l) => (mode === 'iptables' ? l.startsWith('-A ') : l.trim())).length;
      const second = await sync(mode, relabelled, first.chains);
      label.push(second.ms);
      await fresh(mode);
      rawFull.push(await raw(mode, first.text));
      rawLabel.push(await raw(mode, second.text));
    }
    if (mode === 'iptables') {
      // The label change really reached the kernel: the chains are as the second text says.
      const save = (await run(['nsenter', `--net=${netnsPath(NETNS)}`, '--', 'iptables-save', '-t', 'filter'], { context: 'bench check' })).stdout;
      if (netpolChainsIn(save).length === 0) throw new Error('bench: no NETPOL chain in the node after the sync');
    }
  } finally {
    await deleteNamespaces([NETNS]);
  }
  return { mode, pods, policies, size, fullMs: median(full), rawMs: median(rawFull), labelMs: median(label), rawLabelMs: median(rawLabel) };
}

export interface TruthTableRow {
  cells: number;
  /** Median of RUNS wall times of the whole `verify` process. */
  ms: number;
}

/** The x/y/z model of lab/netpol-truth-table.yaml with a two-port ReachabilityTest in place of its own. */
export async function measureTruthTable(labFile: string, cli: string): Promise<TruthTableRow> {
  const docs = readFileSync(labFile, 'utf8')
    .split(/^---$/m)
    .filter((d) => !/^kind: ReachabilityTest$/m.test(d))
    .map((d) => d.replace(/^(metadata:\n  name:) truth-table$/m, '$1 bench-truth'));
  const dir = mkdtempSync(join(tmpdir(), 'kube-netlab-bench-'));
  const file = join(dir, 'truth.yaml');
  writeFileSync(
    file,
    [
      ...docs,
      '\napiVersion: kube-netlab.dev/v1alpha1\nkind: ReachabilityTest\nmetadata: {name: bench}\nspec:\n  via: service\n  ports: [{port: 80}, {port: 81}]\n' +
        '  from: [{namespace: x}, {namespace: y}, {namespace: z}]\n  to: [{namespace: x}, {namespace: y}, {namespace: z}]\n  default: allowed\n' +
        '  expect:\n    - {to: {pod: x/a}, result: blocked}\n    - {from: {pod: y/b}, to: {pod: x/a}, result: allowed}\n    - {from: {pod: z/b}, to: {pod: x/a}, result: allowed}\n',
    ].join('---'),
  );
  const times: number[] = [];
  let cells = 0;
  try {
    await runToEnd([process.execPath, cli, 'up', '-f', file]);
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [cli, 'verify', '--name', 'bench-truth', '--only', 'reachability', '-o', 'json'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`verify exited ${code}: ${text.slice(0, 400)}`))));
      });
      times.push(performance.now() - started);
      cells = (JSON.parse(out) as { reachability: { cells: unknown[] }[] }).reachability.reduce((n, t) => n + t.cells.length, 0);
    }
  } finally {
    await runToEnd([process.execPath, cli, 'down', '--name', 'bench-truth']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  return { cells, ms: median(times) };
}
