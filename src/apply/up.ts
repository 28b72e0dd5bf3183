/**
 * Builds a lab from its spec. Everything that can be decided without the
 * kernel (the plan, every batch, every file) is decided first, so bad input
 * fails before anything changes. An existing lab of the same name is torn
 * down and rebuilt from the new plan, which keeps pods' nodes and IPs. If
 * any step fails, what was made is removed again.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { planLab } from '../model/plan.js';
import type { Plan } from '../model/types.js';
import type { LabSpec } from '../spec/lab.js';
import { podHostname } from '../render/files.js';
import { labNamespaces } from '../components/topology/render.js';
import { applySysctls, createNamespaces, runStage } from '../kernel/netns.js';
import { iptablesRestore } from '../kernel/netfilter.js';
import { checkPlannedTests } from './tests.js';
import { componentsOf, labDaemons, labKernel, netfilterBootstrap, prepareLab } from '../components/registry.js';
import { mapLimit } from '../util/concurrency.js';
import { agentReady, spawnAgent } from './agent.js';
import { downLab } from './down.js';
import { checkEnvironment, REQUIRED_TOOLS } from './environment.js';
import { checkHolders, startHoldersInTurns, type HolderTarget } from './holders.js';
import { labDir, readPlan, readRecord, writeHolders, writePlan, writeRecord } from './state.js';
import { waitPodsReady } from '../agent/client.js';
import { neighbourTableAdvice, neighbourTableLimit } from '../kernel/neighbour-table.js';
import { daemonStateFile } from '../model/daemons.js';
import { LOAD_BALANCER_DAEMON } from '../components/load-balancer/daemon.js';
import type { LoadBalancerState } from '../components/load-balancer/config.js';

export interface UpOptions {
  /** Progress lines (the CLI sends them to stderr). */
  log?: (line: string) => void;
}

/** How long `up` and `apply` wait for readiness probes to pass before saying which do not. */
export const READINESS_WAIT_MS = 15_000;

/** Waits for readinessProbes, so services have their endpoints when the command returns; a pod that stays unready is reported, not fatal. */
export async function waitReadiness(lab: string, log: (line: string) => void): Promise<void> {
  const waiting = await waitPodsReady(labDir(lab), READINESS_WAIT_MS);
  if (waiting.length) log(`not ready after ${READINESS_WAIT_MS / 1000} s (their services skip them until their readinessProbe passes):\n  ${waiting.join('\n  ')}`);
  await waitLoadBalancer(lab, log);
}

/** How long `up` and `apply` give the cloud load balancer to check every node once more. */
const LOAD_BALANCER_WAIT_MS = 5000;

/**
 * With the endpoints in kube-proxy's rules (and its health check servers
 * answering), one more round of the load balancer's health checks makes its
 * forwarding match them, as a cloud's load balancer settles after a
 * deployment. Only labs with LoadBalancer services wait.
 */
async function waitLoadBalancer(lab: string, log: (line: string) => void): Promise<void> {
  const plan = readPlan(lab);
  if (!plan?.services.some((s) => s.type === 'LoadBalancer' && s.loadBalancerIP)) return;
  const since = Date.now();
  const file = join(labDir(lab), daemonStateFile({ name: LOAD_BALANCER_DAEMON }));
  let poked = false;
  while (Date.now() - since < LOAD_BALANCER_WAIT_MS) {
    try {
      const state = JSON.parse(readFileSync(file, 'utf8')) as LoadBalancerState;
      if (Date.parse(state.checkedSince) >= since) return;
      // Check now rather than at the next second: SIGHUP makes the daemon run a round at once.
      if (!poked) process.kill(state.pid, 'SIGHUP');
      poked = true;
    } catch {
      // Not written yet, or being replaced.
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  log(`the load balancer has not checked the nodes within ${LOAD_BALANCER_WAIT_MS / 1000} s; see ${join(labDir(lab), 'cloud-load-balancer.log')}`);
}

/** Files at most this many at a time: each is a create and a write, on a disk that may be slow. */
const FILE_WRITES = 16;

async function writeLabFiles(files: readonly { path: string; content: string }[]): Promise<void> {
  const dirs = [...new Set(files.map((f) => dirname(f.path)))];
  await mapLimit(dirs, FILE_WRITES, (d) => mkdir(d, { recursive: true }));
  await mapLimit(files, FILE_WRITES, (f) => writeFile(f.path, f.content));
}

/** Every namespace that gets a pause process: nodes, pods with a network of their own, the internet side's hosts. */
function holderTargets(plan: Plan): HolderTarget[] {
  return [
    ...plan.nodes.map((n) => ({ netns: n.netns, hostname: n.name })),
    ...plan.pods.filter((p) => !p.hostNetwork).map((p) => ({ netns: p.netns, hostname: podHostname(p) })),
    ...plan.internet.clients.map((c) => ({ netns: c.netns, hostname: c.name })),
    // A host name is one label; the server's DNS name stays in the resolver.
    ...plan.internet.servers.map((s) => ({ netns: s.netns, hostname: s.name.split('.')[0]! })),
  ];
}

export async function upLab(spec: LabSpec, opts: UpOptions = {}): Promise<Plan> {
  const log = opts.log ?? (() => {});
  checkEnvironment([...REQUIRED_TOOLS, 'iptables-restore', ...(spec.serviceNetwork.proxyMode === 'nftables' ? ['nft'] : [])]);
  const existing = readRecord(spec.name);
  const plan = planLab(spec, existing ? readPlan(spec.name) : undefined);
  checkPlannedTests(plan);
  // Every enabled component's kernel objects, sysctls and files, from the registry's list.
  const kernel = labKernel(plan);
  const { stages, sysctls } = kernel;
  const files = kernel.files.map((f) => f.file);
  const namespaces = labNamespaces(plan);
  const concurrency = Math.max(2, availableParallelism() * 2);
  const tooManyNeighbours = neighbourTableAdvice(plan.pods.length, plan.nodes.length, neighbourTableLimit(), plan.staticNeighbours);
  if (tooManyNeighbours) log(`warning: ${tooManyNeighbours}`);

  if (existing) {
    log(`lab ${spec.name} exists: rebuilding it to match ${spec.files.join(', ')}`);
    await downLab(spec.name);
  }
  const now = new Date().toISOString();
  writeRecord({ name: spec.name, phase: 'creating', files: spec.files, createdAt: now, updatedAt: now });
  // What daemons would make when they start (certificates) is made meanwhile, in other processes.
  const prepared = prepareLab(plan, labDir(spec.name));
  prepared.catch(() => {}); // awaited below
  // The kubelet's files (resolv.conf, hosts) need no kernel object: written meanwhile, a few at a time.
  const written = writeLabFiles(files);
  written.catch(() => {}); // awaited below
  const holders: Record<string, number> = {};
  let pausing: Promise<void> = Promise.resolve();
  try {
    log(`creating ${namespaces.length} network namespaces (${plan.nodes.length} nodes, ${plan.pods.length} pods)`);
    await createNamespaces(namespaces);
    // With the namespaces there, the agent and the plan's daemons boot (a Node.js process each) while the kernel objects are built; they serve once plan.json is written.
    const agentPid = spawnAgent(spec.name, labDaemons(plan));
    // A pause process needs only its namespace: they start while the kernel objects are built.
    log('starting pause processes while the kernel objects are built');
    pausing = startHoldersInTurns(spec.name, holderTargets(plan), holders);
    pausing.catch(() => {}); // awaited below
    for (const stage of stages) await runStage(stage, concurrency);
    applySysctls(sysctls);
    // Every component's netfilter bootstrap (kube-proxy's and network policy's jumps, ip-masq, portmap) in one restore per node.
    await mapLimit(plan.nodes, concurrency, (n) => iptablesRestore(n.netns, netfilterBootstrap(plan, n), `netfilter bootstrap (${componentsOf(plan).filter((c) => c.netfilter?.bootstrap).map((c) => c.name).join(', ')}) on node ${n.name}`));
    await written;
    writePlan(plan);
    await prepared;
    log('starting containers');
    // The agent needs the namespaces and plan.json, not the pause processes: it starts the containers while the last of them start.
    const agent = agentReady(spec.name, agentPid);
    agent.catch(() => {}); // awaited below; a failure before then is the holders' to report
    await pausing;
    writeHolders(spec.name, holders);
    await agent;
    await waitReadiness(spec.name, log);
    checkHolders(holders);
    writeRecord({ name: spec.name, phase: 'ready', files: spec.files, createdAt: now, updatedAt: new Date().toISOString() });
    log(`lab ${spec.name} is up`);
    return plan;
  } catch (err) {
    log(`up failed; removing what was made`);
    await pausing.catch(() => {}); // no pause process starts after down
    await prepared.catch(() => {}); // its files go with the run directory
    await written.catch(() => {}); // and these with /etc/netns
    await downLab(spec.name).catch(() => {});
    throw err;
  }
}
