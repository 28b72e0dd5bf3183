/**
 * The lab agent: `node dist/agent/main.js <runDir>`.
 *
 * One process serves every container port of every pod of a lab. Each
 * listening socket is created inside its pod's network namespace and served
 * from here, so the lab needs no process per container. The only thing the
 * agent listens on outside the pods is its control socket, `<runDir>/agent.sock`.
 *
 * It runs on the daemon runtime (runtime/daemon.ts), like the daemons it
 * starts: its config is `<runDir>/plan.json`, reloaded when `up` or `apply`
 * replaces it, on SIGHUP and on POST /reload (which returns what the reload
 * did); its state file is `<runDir>/agent.json`; it logs to stdout;
 * SIGTERM/SIGINT close everything and exit 0.
 */
import { existsSync, readFileSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { loadSyscalls, openClientSocket, openListeningSocket } from '../kernel/ffi.js';
import { createControlServer, listenControl } from './control.js';
import { runDaemon, type DaemonContext } from '../runtime/daemon.js';
import { AGENT_NAME, PLAN_FILE, PRESTART_FILE, SOCKET_FILE, STATE_FILE } from '../runtime/run-dir.js';
import { checkPlanShape, planDigest, targetsFromPlanText, type ContainerTarget } from './plan-targets.js';
import { type ReloadResult } from './protocol.js';
import { Supervisor } from './supervisor.js';
import { DaemonSupervisor, stopPredecessorDaemons } from './daemons.js';
import { DnsPublisher } from './dns-publisher.js';
import { UpstreamPublisher } from './upstream-publisher.js';
import { useTlsCertificate } from './http-server.js';
import { CertStore } from '../components/ingress-nginx/certs.js';
import { DAEMON_MODULES, daemonStateFile, type DaemonSpec } from '../model/daemons.js';
import { ChangeCounter } from './changes.js';
import { ipNum } from '../util/ip-num-load.js';
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

/** plan.json's text → what the agent serves; a plan that cannot be used is refused before anything is opened or changed. */
function parsePlan(text: string, file: string): LoadedPlan {
  // Parsed and checked here first, so a broken plan.json is reported with its name.
  const podTargets = targetsFromPlanText(text, file);
  const plan: unknown = JSON.parse(text);
  checkPlanShape(plan, file);
  const targets = [...podTargets, ...apiServerTargets(plan), ...externalServerTargets(plan)];
  return { plan, targets, daemons: labDaemons(plan), probes: probeTargets(plan), version: planDigest(text) };
}

/** How often container states are compared for endpoint changes (a killed container leaves its services). */
const READY_POLL_MS = 250;

/**
 * The daemons `up` listed for the plan it is building, when the agent starts
 * before that plan is written; none otherwise. The list only saves time: one
 * that cannot be read is left aside, and the plan starts the daemons.
 */
function prestartList(runDir: string, log: (line: string) => void): DaemonSpec[] {
  const file = join(runDir, PRESTART_FILE);
  if (existsSync(join(runDir, PLAN_FILE)) || !existsSync(file)) return [];
  try {
    const list = (JSON.parse(readFileSync(file, 'utf8')) as { daemons?: unknown }).daemons;
    const modules = new Set<string>(DAEMON_MODULES);
    const ok = (d: unknown): d is DaemonSpec => {
      const x = d as DaemonSpec;
      return typeof x?.name === 'string' && typeof x.netns === 'string' && modules.has(x.module) && Array.isArray(x.args) && x.args.every((a) => typeof a === 'string');
    };
    if (!Array.isArray(list) || !list.every(ok)) throw new Error('not a list of daemons');
    return list;
  } catch (err) {
    log(`${file}: ${(err as Error).message}; the daemons start with the plan`);
    return [];
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

function createAgent(ctx: DaemonContext<ReloadResult>) {
  const runDir = resolve(ctx.runDir);
  const socketFile = join(runDir, SOCKET_FILE);
  const stateFile = join(runDir, STATE_FILE);
  const startedAt = new Date().toISOString();
  const log = ctx.log;
  // The plan being served; set by start() before anything reads it.
  let plan!: LoadedPlan;
  let readyPoll: NodeJS.Timeout | undefined;
  let control: Server | undefined;
  /** The state files of the plan's daemons: one written means a daemon serves (or changed what it reports). */
  let daemonStates = new Set<string>();
  let stateWatch: FSWatcher | undefined;

  // TLS on the test server's ports (an ingress backend-protocol HTTPS or GRPCS): a certificate of the lab CA, made on first use.
  useTlsCertificate(async () => {
    const c = await new CertStore(runDir, plan.plan.lab).generated(['test-server.kube-netlab'], 'kube-netlab test server');
    return { cert: readFileSync(c.certFile, 'utf8'), key: readFileSync(c.keyFile, 'utf8') };
  });
  // Every change the status reports bumps it: a client waiting for a state hears of it at once (GET /status?after=).
  const changes = new ChangeCounter();
  // The supervisor logs every change of a container's state.
  const sup = new Supervisor({
    openSocket: openListeningSocket,
    log: (line) => {
      log(line);
      changes.bump();
    },
  });
  const nodeDaemons = new DaemonSupervisor(runDir, log);
  // Their Node.js boots while `up` builds the kernel objects; each serves once the plan's load writes its config.
  // The runtime stops them with the agent, whenever a SIGTERM comes: its handler is in place before create().
  const early = prestartList(runDir, log);
  if (early.length) {
    log(`starting ${early.length} daemon(s) of the coming plan; each waits for its config: ${early.map((d) => d.name).join(', ')}`);
    nodeDaemons.prestart(early);
  }
  // ip-num and koffi are loaded at their first use, which would be the first plan's DNS records and containers: with no plan yet, they load while the agent waits.
  if (!existsSync(join(runDir, PLAN_FILE))) {
    setImmediate(() => {
      ipNum();
      loadSyscalls();
    });
  }
  const nodes = new NodeLifecycle(() => plan.plan.spec.nodeMonitorGracePeriodSeconds * 1000);
  // A container running a lab program runs once its daemon serves (it has written its state file).
  const isRunning = (key: string) => {
    if (!sup.status().some((c) => `${c.pod}/${c.container}` === key && c.state === 'running')) return false;
    const pod = plan.plan.pods.find((p) => key.startsWith(`${p.key}/`));
    if (!pod?.containers.some((c) => c.program)) return true;
    return nodeDaemons.status().some((d) => d.netns === pod.netns && d.ready);
  };
  const kickProxy = () => void kube?.kick().then(() => changes.bump());
  const kickPolicies = () => void policies?.kick().then(() => changes.bump());
  const probes = new ProbeScheduler(
    log,
    () => {
      changes.bump();
      kickProxy();
    },
    isRunning,
    (netns) => openClientSocket(netns, 'TCP'),
  );
  const healthServers = new HealthCheckServers(log);
  // The same rule `get` and `verify` apply to the agent's status: every container running and ready.
  const podReady = () => podReadyFrom({ containers: containerStatus() });
  // Made by start(), with the first plan's proxy mode (a lab keeps its mode: `apply` refuses to change it).
  let kube: ProxyController | undefined;
  let policies: NetpolController | undefined;
  const startControllers = (mode: Plan['spec']['serviceNetwork']['proxyMode']) => {
    kube = new ProxyController(
      mode,
      () => ({
        planVersion: plan.version,
        netns: new Map(plan.plan.nodes.map((n) => [n.name, n.netns])),
        inputs: proxyInputs(plan.plan, podReady()),
      }),
      log,
      (view) => healthServers.apply(view.inputs, view.netns),
    );
    // Policies follow pods, labels and policies, which only a reload changes; readiness plays no part.
    policies = new NetpolController(mode, () => ({ planVersion: plan.version, plan: plan.plan }), log);
  };
  const dns = new DnsPublisher(runDir, log);
  const upstreams = new UpstreamPublisher(runDir, log);

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

  /** The daemons' files and the daemons (the DNS servers read their records at start: the files come first). */
  const publishAndRunDaemons = (next: LoadedPlan) => {
    dns.publish(next.plan, podReady());
    upstreams.publish(next.plan, podReady());
    nodeDaemons.apply(next.daemons);
    daemonStates = new Set(next.daemons.map((d) => daemonStateFile(d)));
  };

  /** Makes the running lab what `next` says: containers, DNS records, ingress upstreams, daemons, probes, rules. */
  const load = (next: LoadedPlan, first = false): ReloadResult => {
    if (first) {
      // Nothing runs yet: the daemons (booted meanwhile, waiting for their files) start serving while the containers open.
      plan = next;
      // Started niced before the plan: the kernel objects are done, and one still booting must not finish behind everything else.
      nodeDaemons.endBootPriority();
      publishAndRunDaemons(next);
    }
    const summary = sup.apply(next.targets);
    // Readiness is read from the new plan: a pod it marks terminating leaves the DNS records and the ingress endpoints in this very publish.
    plan = next;
    // With the containers open, the records name the pods that are ready now.
    publishAndRunDaemons(next);
    probes.apply(next.probes);
    kickProxy();
    kickPolicies();
    ctx.writeState({ socket: socketFile, startedAt, planVersion: next.version });
    changes.bump();
    return { planVersion: next.version, ...summary };
  };

  const serveControl = () =>
    createControlServer({
      status: () => ({
        pid: process.pid,
        startedAt,
        generation: changes.value,
        planVersion: plan.version,
        containers: containerStatus(),
        daemons: nodeDaemons.status(),
        proxy: kube!.status(),
        netpol: policies!.status(),
        ...(upstreams.version !== undefined ? { ingressUpstreams: upstreams.version } : {}),
        nodes: nodes.conditions(plan.plan.nodes.map((n) => n.name)),
      }),
      kill: (pod, container) => {
        const killed = sup.kill(pod, container);
        changes.bump();
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
        changes.bump();
        log(`node ${name} ${reachable ? 'reachable again' : `unreachable; NotReady after ${plan.plan.spec.nodeMonitorGracePeriodSeconds} s`}`);
        return nodes.conditions([name])[0]!;
      },
      reload: () => ctx.requestReload(),
      changes: (after, waitMs) => changes.after(after, waitMs),
    });

  /** A container that stops or restarts changes its pod's readiness: restarted ones start their probes over. */
  const watchReadiness = () => {
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
        changes.bump();
        log(lost ? `node lifecycle: NotReady: ${lost}; their pods leave every service` : `node lifecycle: every node Ready`);
        lastLost = lost;
      }
      const ready = podReady();
      const now = plan.plan.pods.filter((p) => ready(p.key)).map((p) => p.key).join(',');
      if (now !== lastReady) {
        lastReady = now;
        kickProxy();
        dns.publish(plan.plan, ready);
        upstreams.publish(plan.plan, ready);
      }
    }, READY_POLL_MS);
  };

  return {
    async start(first: LoadedPlan): Promise<ReloadResult> {
      plan = first;
      startControllers(first.plan.spec.serviceNetwork.proxyMode);
      control = serveControl();
      // Listening first also proves no other agent serves this run directory, before the state file is taken over.
      await listenControl(control, socketFile);
      log(`agent ${process.pid} starting for ${runDir}, plan ${first.version}, ${first.targets.length} containers`);
      const leftBehind = await stopPredecessorDaemons(runDir);
      if (leftBehind.length) log(`stopped ${leftBehind.length} daemon(s) a previous agent left running: ${leftBehind.join(', ')}`);
      try {
        // Before the load starts the daemons, so none serves unseen.
        stateWatch = watch(runDir, (_event, file) => {
          if (file !== null && daemonStates.has(file.toString())) changes.bump();
        });
        stateWatch.on('error', () => undefined);
      } catch {
        // Without the watch, a waiting client hears of a daemon serving with the next other change, or its own timeout.
      }
      const result = load(first, true);
      watchReadiness();
      const running = sup.status().filter((c) => c.state === 'running').length;
      log(`agent ready: ${running}/${first.targets.length} containers running, control on ${socketFile}`);
      return result;
    },
    reload(next: LoadedPlan): ReloadResult {
      const result = load(next);
      log(`plan ${next.version} loaded: ${result.started.length} started, ${result.stopped.length} stopped, ${result.unchanged} unchanged`);
      return result;
    },
    /** Closes every socket and removes the files that say the agent is running (only if they are still ours). */
    stop(): void {
      clearInterval(readyPoll);
      stateWatch?.close();
      changes.releaseAll();
      probes.stopAll();
      kube?.stop();
      policies?.stop();
      healthServers.closeAll();
      sup.stopAll();
      nodeDaemons.stopAll();
      const listening = control?.listening === true;
      control?.closeAllConnections();
      control?.close();
      if (listening) unlinkQuietly(socketFile);
      try {
        if ((JSON.parse(readFileSync(stateFile, 'utf8')) as { pid?: unknown }).pid === process.pid) unlinkQuietly(stateFile);
      } catch {
        // No state file.
      }
    },
  };
}

// A failure to return to our own namespace is thrown as fatal: the runtime
// ends the process, which must not go on in a namespace that is not its own.
runDaemon<LoadedPlan, ReloadResult>({
  program: 'agent/main.js',
  name: AGENT_NAME,
  configFile: PLAN_FILE,
  configWriter: '`up` (or `apply`)',
  stopWhenOrphaned: false,
  parse: parsePlan,
  create: createAgent,
});
