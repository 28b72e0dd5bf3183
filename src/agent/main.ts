/**
 * The lab agent: `node dist/agent/main.js <runDir>`.
 *
 * One process serves every container port of every pod of a lab. Each
 * listening socket is created inside its pod's network namespace and served
 * from here, so the lab needs no process per container. The only thing the
 * agent listens on outside the pods is its control socket, `<runDir>/agent.sock`.
 *
 * Files: reads `<runDir>/plan.json`, writes `<runDir>/agent.pid`, logs to stdout.
 * SIGTERM/SIGINT: close everything and exit 0. SIGHUP: same as POST /reload.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { writeAtomic } from '../util/files.js';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { openClientSocket, openListeningSocket } from '../kernel/ffi.js';
import { createControlServer, listenControl } from './control.js';
import { log } from '../runtime/log.js';
import { checkPlanShape, planDigest, targetsFromPlanText, type ContainerTarget } from './plan-targets.js';
import { type ReloadResult } from './protocol.js';
import { PID_FILE, PLAN_FILE, SOCKET_FILE } from '../runtime/run-dir.js';
import { Supervisor } from './supervisor.js';
import { DaemonSupervisor, stopPredecessorDaemons } from './daemons.js';
import { DnsPublisher } from './dns-publisher.js';
import { UpstreamPublisher } from './upstream-publisher.js';
import { useTlsCertificate } from './http-server.js';
import { CertStore } from '../components/ingress-nginx/certs.js';
import type { DaemonSpec } from '../model/daemons.js';
import { labDaemons } from '../components/registry.js';
import { proxyInputs } from '../model/endpoints.js';
import type { Plan } from '../model/types.js';
import { apiServerTargets, externalServerTargets } from './plan-targets.js';
import { probeTargets, ProbeScheduler, type ProbeTarget } from './probes.js';
import { ProxyController } from '../components/kube-proxy/controller.js';
import { NetpolController } from '../components/network-policy/controller.js';
import { HealthCheckServers } from './health-check.js';
import { NodeLifecycle } from './node-lifecycle.js';
import type { ContainerStatus } from './protocol.js';
import { podReadyFrom } from './client.js';

interface LoadedPlan {
  plan: Plan;
  targets: ContainerTarget[];
  daemons: DaemonSpec[];
  probes: ProbeTarget[];
  version: string;
}

function readPlan(runDir: string): LoadedPlan {
  const file = join(runDir, PLAN_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}; \`up\` writes it before starting the agent`);
  }
  // Parsed and checked here first, so a broken plan.json is reported with its name.
  const podTargets = targetsFromPlanText(text, file);
  const plan: unknown = JSON.parse(text);
  checkPlanShape(plan, file);
  const targets = [...podTargets, ...apiServerTargets(plan), ...externalServerTargets(plan)];
  return { plan, targets, daemons: labDaemons(plan), probes: probeTargets(plan), version: planDigest(text) };
}

/** How often container states are compared for endpoint changes (a killed container leaves its services). */
const READY_POLL_MS = 250;

function writePid(file: string): void {
  writeAtomic(file, `${process.pid}\n`);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

let supervisor: Supervisor | undefined;
let daemons: DaemonSupervisor | undefined;
let prober: ProbeScheduler | undefined;
let proxy: ProxyController | undefined;
let netpol: NetpolController | undefined;
let readyPoll: NodeJS.Timeout | undefined;
let health: HealthCheckServers | undefined;
let control: Server | undefined;
let socketFile: string | undefined;
let pidFile: string | undefined;

/** Closes every socket and removes the files that say the agent is running (only if they are still ours). */
function cleanup(): void {
  clearInterval(readyPoll);
  prober?.stopAll();
  proxy?.stop();
  netpol?.stop();
  health?.closeAll();
  supervisor?.stopAll();
  daemons?.stopAll();
  const listening = control?.listening === true;
  control?.closeAllConnections();
  control?.close();
  if (listening && socketFile) unlinkQuietly(socketFile);
  try {
    if (pidFile && readFileSync(pidFile, 'utf8').trim() === String(process.pid)) unlinkQuietly(pidFile);
  } catch {
    // No pid file.
  }
}

function exitWith(code: number, message: string): never {
  log(message);
  try {
    cleanup();
  } finally {
    process.exit(code);
  }
}

async function main(argv: string[]): Promise<void> {
  if (argv.length !== 1 || !argv[0] || argv[0].startsWith('-')) {
    process.stderr.write('usage: node dist/agent/main.js <runDir>   (the directory holding plan.json)\n');
    process.exit(2);
  }
  const runDir = resolve(argv[0]);
  socketFile = join(runDir, SOCKET_FILE);
  const startedAt = new Date().toISOString();
  // A plan that cannot be used stops us before anything is opened.
  let plan = readPlan(runDir);

  // TLS on the test server's ports (an ingress backend-protocol HTTPS or GRPCS): a certificate of the lab CA, made on first use.
  useTlsCertificate(async () => {
    const c = await new CertStore(runDir, plan.plan.lab).generated(['test-server.kube-netlab'], 'kube-netlab test server');
    return { cert: readFileSync(c.certFile, 'utf8'), key: readFileSync(c.keyFile, 'utf8') };
  });
  const sup = new Supervisor({ openSocket: openListeningSocket, log });
  supervisor = sup;
  const nodeDaemons = new DaemonSupervisor(runDir, log);
  daemons = nodeDaemons;
  const nodes = new NodeLifecycle(() => plan.plan.spec.nodeMonitorGracePeriodSeconds * 1000);
  // A container running a lab program runs once its daemon serves (it has written its state file).
  const isRunning = (key: string) => {
    if (!sup.status().some((c) => `${c.pod}/${c.container}` === key && c.state === 'running')) return false;
    const pod = plan.plan.pods.find((p) => key.startsWith(`${p.key}/`));
    if (!pod?.containers.some((c) => c.program)) return true;
    return nodeDaemons.status().some((d) => d.netns === pod.netns && d.ready);
  };
  const probes = new ProbeScheduler(log, () => kube.kick(), isRunning, (netns) => openClientSocket(netns, 'TCP'));
  const healthServers = new HealthCheckServers(log);
  health = healthServers;
  prober = probes;
  // The same rule `get` and `verify` apply to the agent's status: every container running and ready.
  const podReady = () => podReadyFrom({ containers: containerStatus() });
  const kube = new ProxyController(
    plan.plan.spec.serviceNetwork.proxyMode,
    () => ({
      planVersion: plan.version,
      netns: new Map(plan.plan.nodes.map((n) => [n.name, n.netns])),
      inputs: proxyInputs(plan.plan, podReady()),
    }),
    log,
    (view) => healthServers.apply(view.inputs, view.netns),
  );
  proxy = kube;
  // Policies follow pods, labels and policies, which only a reload changes; readiness plays no part.
  const policies = new NetpolController(plan.plan.spec.serviceNetwork.proxyMode, () => ({ planVersion: plan.version, plan: plan.plan }), log);
  netpol = policies;
  const dns = new DnsPublisher(runDir, log);
  const upstreams = new UpstreamPublisher(runDir, log);
  const reload = (): ReloadResult => {
    const next = readPlan(runDir);
    const summary = sup.apply(next.targets);
    // Readiness is read from the new plan: a pod it marks terminating leaves the DNS records and the ingress endpoints in this very publish.
    plan = next;
    dns.publish(next.plan, podReady());
    upstreams.publish(next.plan, podReady());
    nodeDaemons.apply(next.daemons);
    probes.apply(next.probes);
    kube.kick();
    policies.kick();
    log(`plan ${next.version} loaded: ${summary.started.length} started, ${summary.stopped.length} stopped, ${summary.unchanged} unchanged`);
    return { planVersion: next.version, ...summary };
  };
  const containerStatus = (): ContainerStatus[] => {
    const nodeOf = new Map(plan.plan.pods.map((p) => [p.key, p.node]));
    const terminating = new Set(plan.plan.pods.filter((p) => p.terminating).map((p) => p.key));
    return sup.status().map((c) => {
      const key = `${c.pod}/${c.container}`;
      const probe = probes.tracker.lastResult(key);
      const node = nodeOf.get(c.pod);
      // The controller's verdict wins over the kubelet's probes, which it no longer hears.
      const lost = node !== undefined && nodes.notReady(node);
      // A terminating pod leaves its services before its containers stop, as the endpoints controller removes it first.
      const leaving = terminating.has(c.pod);
      const ready = c.state === 'running' && probes.tracker.containerReady(key) && !lost && !leaving;
      return { ...c, ready, ...(lost ? { probe: `node ${node} is NotReady` } : leaving ? { probe: 'terminating' } : probe ? { probe } : {}) };
    });
  };
  control = createControlServer({
    status: () => ({
      pid: process.pid,
      startedAt,
      planVersion: plan.version,
      containers: containerStatus(),
      daemons: nodeDaemons.status(),
      proxy: kube.status(),
      netpol: policies.status(),
      ...(upstreams.version !== undefined ? { ingressUpstreams: upstreams.version } : {}),
      nodes: nodes.conditions(plan.plan.nodes.map((n) => n.name)),
    }),
    kill: (pod, container) => {
      const killed = sup.kill(pod, container);
      // A container that runs a lab program (the cluster DNS, the ingress controller) is that program's process: it dies too.
      const planned = plan.plan.pods.find((p) => p.key === pod);
      if (planned?.containers.some((c) => c.program && killed.some((k) => k.container === c.name))) {
        const daemonsKilled = nodeDaemons.killIn(planned.netns);
        if (daemonsKilled.length) log(`killed ${daemonsKilled.join(', ')} with the container of pod ${pod}`);
      }
      return { killed };
    },
    node: (name, reachable) => {
      nodes.setReachable(name, reachable);
      log(`node ${name} ${reachable ? 'reachable again' : `unreachable; NotReady after ${plan.plan.spec.nodeMonitorGracePeriodSeconds} s`}`);
      return nodes.conditions([name])[0]!;
    },
    reload,
  });
  // Listening first also proves no other agent serves this run directory,
  // before agent.pid is taken over.
  await listenControl(control, socketFile);
  pidFile = join(runDir, PID_FILE);
  writePid(pidFile);
  log(`agent ${process.pid} starting for ${runDir}, plan ${plan.version}, ${plan.targets.length} containers`);
  const leftBehind = await stopPredecessorDaemons(runDir);
  if (leftBehind.length) log(`stopped ${leftBehind.length} daemon(s) a previous agent left running: ${leftBehind.join(', ')}`);

  sup.apply(plan.targets);
  // The DNS servers read their records at start: the files come first.
  dns.publish(plan.plan, podReady());
  upstreams.publish(plan.plan, podReady());
  nodeDaemons.apply(plan.daemons);
  probes.apply(plan.probes);
  kube.kick();
  policies.kick();
  // A container that stops or restarts changes its pod's readiness: restarted ones start their probes over.
  let lastReady = '';
  let lastLost = '';
  const restarts = new Map<string, number>();
  readyPoll = setInterval(() => {
    for (const c of sup.status()) {
      const key = `${c.pod}/${c.container}`;
      if ((restarts.get(key) ?? c.restartCount) !== c.restartCount) probes.tracker.reset(key);
      restarts.set(key, c.restartCount);
    }
    const lost = plan.plan.nodes.filter((n) => nodes.notReady(n.name)).map((n) => n.name).join(',');
    if (lost !== lastLost) {
      log(lost ? `node lifecycle: NotReady: ${lost}; their pods leave every service` : `node lifecycle: every node Ready`);
      lastLost = lost;
    }
    const ready = podReady();
    const now = plan.plan.pods.filter((p) => ready(p.key)).map((p) => p.key).join(',');
    if (now !== lastReady) {
      lastReady = now;
      kube.kick();
      dns.publish(plan.plan, ready);
      upstreams.publish(plan.plan, ready);
    }
  }, READY_POLL_MS);
  const running = sup.status().filter((c) => c.state === 'running').length;
  log(`agent ready: ${running}/${plan.targets.length} containers running, control on ${socketFile}`);

  process.on('SIGTERM', () => exitWith(0, 'SIGTERM: stopping'));
  process.on('SIGINT', () => exitWith(0, 'SIGINT: stopping'));
  process.on('SIGHUP', () => {
    try {
      reload();
    } catch (err) {
      log(`SIGHUP: reload refused, the running containers are unchanged: ${(err as Error).message}`);
    }
  });
}

// A failure to return to our own namespace ends up here too: the process
// must not go on in a namespace that is not its own.
process.on('uncaughtException', (err) => exitWith(1, `fatal: ${err.stack ?? err.message}`));
process.on('unhandledRejection', (err) => exitWith(1, `fatal: ${(err as Error)?.stack ?? String(err)}`));

main(process.argv.slice(2)).catch((err: unknown) => exitWith(1, `cannot start: ${(err as Error)?.message ?? String(err)}`));
