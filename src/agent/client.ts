/**
 * Talking to a lab's agent over its control socket (`<runDir>/agent.sock`).
 * Every call has a timeout, and every failure says what to look at.
 */
import type { NodeCondition } from './node-lifecycle.js';
import { readFileSync, statSync } from 'node:fs';
import { fileIdentity } from '../util/files.js';
import { request } from 'node:http';
import { join } from 'node:path';
import { targetsFromPlanText, planDigest } from './plan-targets.js';
import { LOG_FILE, PLAN_FILE, SOCKET_FILE, STATE_FILE } from '../runtime/run-dir.js';
import type { AgentStatus, ContainerStatus, DaemonStatus, ErrorBody, KillResult, ReloadResult } from './protocol.js';
import { daemonStateFile } from '../model/daemons.js';
import { ingressDaemons } from '../components/ingress-nginx/daemon.js';
import { labDaemons } from '../components/registry.js';
import type { Plan } from '../model/types.js';

export type { AgentStatus, ContainerStatus, DaemonStatus, KillResult, ReloadResult } from './protocol.js';
export { planDigest } from './plan-targets.js';

const DEFAULT_TIMEOUT_MS = 5000;
/** How often a client asks an agent that does not answer yet (it is starting), or one that reports no generation. */
const POLL_MS = 25;
/** How long one wait for the agent's next change lasts before the state is looked at anyway. */
const CHANGE_WAIT_MS = 250;

/** The agent answered with an error, or did not answer. `status` is the HTTP status when it answered. */
export class AgentError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly status?: number,
    /** For waitAgentReady: the containers that were not running. */
    readonly notRunning: ContainerStatus[] = [],
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

function call<T>(runDir: string, method: string, path: string, timeoutMs: number): Promise<T> {
  const socketPath = join(runDir, SOCKET_FILE);
  const what = `${method} ${path} to the agent at ${socketPath}`;
  return new Promise<T>((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: timeoutMs, headers: { Connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new AgentError(`${what}: the answer is not JSON (HTTP ${res.statusCode}): ${text.slice(0, 200)}`, res.statusCode));
          return;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(body as T);
        else reject(new AgentError((body as Partial<ErrorBody>).error ?? `${what}: HTTP ${status}`, status));
      });
    });
    req.on('timeout', () => req.destroy(new AgentError(`${what}: no answer within ${timeoutMs} ms; see ${join(runDir, LOG_FILE)}`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof AgentError) reject(err);
      else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new AgentError(`the agent of ${runDir} is not running (nothing answers on ${socketPath}); see ${join(runDir, LOG_FILE)}, or run \`up\` again`));
      } else reject(new AgentError(`${what}: ${err.message}`));
    });
    req.end();
  });
}

/**
 * The agent's status. With `after` (a `generation` it reported), the agent
 * answers once something changed since, or CHANGE_WAIT_MS later: a client
 * waiting for a state looks at it again at each change, not at each poll.
 */
export function agentStatus(runDir: string, timeoutMs = DEFAULT_TIMEOUT_MS, after?: number): Promise<AgentStatus> {
  if (after === undefined) return call<AgentStatus>(runDir, 'GET', '/status', timeoutMs);
  return call<AgentStatus>(runDir, 'GET', `/status?after=${after}&wait=${CHANGE_WAIT_MS}`, timeoutMs + CHANGE_WAIT_MS);
}

/** Kills one container of `pod` (`namespace/name`), or all its containers; they restart after a backoff. */
export function agentKill(runDir: string, pod: string, container?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<KillResult> {
  const q = new URLSearchParams({ pod, ...(container !== undefined ? { container } : {}) });
  return call<KillResult>(runDir, 'POST', `/kill?${q}`, timeoutMs);
}

/** Tells the agent's node lifecycle controller that a node's link went down or came back. */
export function agentNode(runDir: string, node: string, reachable: boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<NodeCondition> {
  return call<NodeCondition>(runDir, 'POST', `/node?${new URLSearchParams({ name: node, reachable: String(reachable) })}`, timeoutMs);
}

/** Makes the agent re-read plan.json: new containers start, removed ones stop, unchanged ones are untouched. */
export function agentReload(runDir: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReloadResult> {
  return call<ReloadResult>(runDir, 'POST', '/reload', timeoutMs);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0 but serves nothing.
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the agent's state file, if that file was written since `since` (an older one may be a dead predecessor's). */
function recentPid(runDir: string, since: number): number | undefined {
  const file = join(runDir, STATE_FILE);
  try {
    if (statSync(file).mtimeMs < since) return undefined;
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function logTail(runDir: string, lines = 8, file = join(runDir, LOG_FILE)): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
    return text.length && text[0] !== '' ? `\n  last lines of ${file}:\n    ${text.join('\n    ')}` : '';
  } catch {
    return '';
  }
}

/** The last lines of every daemon's log that is not ready: `up` removes a lab that failed, logs included. */
function daemonLogTails(runDir: string, status: AgentStatus | undefined): string {
  return (status?.daemons ?? [])
    .filter((d) => !d.ready)
    .map((d) => logTail(runDir, 4, d.log))
    .join('');
}

/** plan.json as a waiting client reads it at every change: parsed again only when the file was replaced. */
interface PlanOnDisk {
  text: string;
  digest?: string;
  plan?: Plan;
  targets?: ReturnType<typeof targetsFromPlanText>;
  daemons?: ReturnType<typeof labDaemons>;
}
let planMemo: { path: string; id: string; value: PlanOnDisk } | undefined;

/** The text of `<runDir>/plan.json`; undefined when there is none. */
function planOnDisk(runDir: string): PlanOnDisk | undefined {
  const path = join(runDir, PLAN_FILE);
  try {
    const id = fileIdentity(path);
    if (planMemo?.path === path && planMemo.id === id) return planMemo.value;
    const value = { text: readFileSync(path, 'utf8') };
    planMemo = { path, id, value };
    return value;
  } catch {
    return undefined;
  }
}

/** The parsed plan; undefined when there is none or it is not JSON. */
function parsedPlan(runDir: string): PlanOnDisk & { plan: Plan } | undefined {
  const p = planOnDisk(runDir);
  if (!p) return undefined;
  try {
    p.plan ??= JSON.parse(p.text) as Plan;
  } catch {
    return undefined;
  }
  return p as PlanOnDisk & { plan: Plan };
}

/** Daemons of plan.json that the status does not show ready, as lines saying why and where to look. */
function daemonsNotReady(runDir: string, status: AgentStatus): string[] {
  // An agent of a version without node daemons leaves the field out.
  const daemons = status.daemons ?? [];
  const p = parsedPlan(runDir);
  if (!p) return daemons.filter((d) => !d.ready).map(describeDaemon);
  const byName = new Map(daemons.map((d) => [d.name, d]));
  return (p.daemons ??= labDaemons(p.plan)).flatMap((spec) => {
    const d = byName.get(spec.name);
    if (d?.ready) return [];
    return [d ? describeDaemon(d) : `daemon ${spec.name}: not started by the agent`];
  });
}

/** Ingress controllers whose nginx does not serve the endpoints the agent published last. */
function ingressBehind(runDir: string, status: AgentStatus): string[] {
  if (status.ingressUpstreams === undefined) return [];
  const plan = parsedPlan(runDir)?.plan;
  if (!plan) return [];
  return ingressDaemons(plan).flatMap((spec) => {
    try {
      const state = JSON.parse(readFileSync(join(runDir, daemonStateFile(spec)), 'utf8')) as { upstreams?: string };
      return state.upstreams === status.ingressUpstreams ? [] : [spec.name];
    } catch {
      return [spec.name];
    }
  });
}

export function describeDaemon(d: DaemonStatus): string {
  const state = d.state === 'running' ? 'running but not serving yet' : d.state;
  return `daemon ${d.name}: ${state}${d.restartCount ? `, ${d.restartCount} restart(s)` : ''}${d.lastExit ? `, last ${d.lastExit}` : ''}; see ${d.log}`;
}

function describe(c: ContainerStatus): string {
  return `${c.pod} ${c.container}: ${c.state}${c.lastError ? ` (${c.lastError})` : ''}`;
}

/**
 * Containers of plan.json the status does not show running, and the plan's
 * version; without a readable plan.json, the agent's own non-running containers.
 */
function notRunning(runDir: string, status: AgentStatus): { missing: ContainerStatus[]; planVersion?: string } {
  const p = planOnDisk(runDir);
  if (!p) return { missing: status.containers.filter((c) => c.state !== 'running') };
  const text = p.text;
  const byKey = new Map(status.containers.map((c) => [`${c.pod}/${c.container}`, c]));
  const missing = (p.targets ??= targetsFromPlanText(text, join(runDir, PLAN_FILE))).flatMap((t): ContainerStatus[] => {
    const c = byKey.get(t.key);
    if (c?.state === 'running') return [];
    return [c ?? { pod: t.podKey, container: t.container, state: 'waiting', restartCount: 0, lastError: 'not in the plan the agent runs', netns: t.netns, ports: [] }];
  });
  return { missing, planVersion: (p.digest ??= planDigest(text)) };
}

/**
 * Resolves when every container of `<runDir>/plan.json` is running in the
 * agent, every node daemon it needs is serving, the agent runs that very
 * plan, and its kube-proxy has written that plan's services into every node. Rejects with an AgentError
 * listing the containers that are not, with their last error, when
 * `timeoutMs` passes; at once if the agent process exits (pass `pid` when
 * known; otherwise the pid in agent.json is used once the agent has written it).
 */
export async function waitAgentReady(runDir: string, timeoutMs: number, options: { pid?: number } = {}): Promise<AgentStatus> {
  const since = Date.now();
  const deadline = since + timeoutMs;
  let problem = 'the agent never answered';
  let pending: ContainerStatus[] = [];
  let lastStatus: AgentStatus | undefined;
  // The generation of the last answer: the next question waits for a change after it.
  let after: number | undefined;
  for (;;) {
    const pid = options.pid ?? recentPid(runDir, since - 1000);
    try {
      const status = await agentStatus(runDir, Math.max(200, Math.min(2000, deadline - Date.now())), after);
      lastStatus = status;
      after = status.generation;
      const { missing, planVersion } = notRunning(runDir, status);
      const daemons = daemonsNotReady(runDir, status);
      pending = missing;
      const samePlan = planVersion === undefined || planVersion === status.planVersion;
      // An agent of a version without kube-proxy has no proxy status: nothing to wait for.
      const proxySynced = !status.proxy || status.proxy.syncedPlan === status.planVersion;
      const policiesSynced = !status.netpol || status.netpol.syncedPlan === status.planVersion;
      const ingress = missing.length === 0 && daemons.length === 0 ? ingressBehind(runDir, status) : [];
      if (missing.length === 0 && daemons.length === 0 && samePlan && proxySynced && policiesSynced && ingress.length === 0) return status;
      problem =
        missing.length > 0
          ? `${missing.length} container(s) not running:\n  ${missing.map(describe).join('\n  ')}`
          : !samePlan
            ? `the agent runs plan ${status.planVersion}, but plan.json is ${planVersion}; reload it (agentReload)`
            : daemons.length > 0
              ? `${daemons.length} node daemon(s) not ready:\n  ${daemons.join('\n  ')}`
              : !proxySynced
                ? `kube-proxy has not programmed the services of plan ${status.planVersion} yet${status.proxy?.lastError ? `: ${status.proxy.lastError}` : ''}`
                : !policiesSynced
                  ? `the network policies of plan ${status.planVersion} are not in every node's rules yet${status.netpol?.lastError ? `: ${status.netpol.lastError}` : ''}`
                  : `ingress controller(s) ${ingress.join(', ')} do not serve the current endpoints (${status.ingressUpstreams}) yet; see their logs under ${join(runDir, 'ingress')}`;
    } catch (err) {
      if (err instanceof AgentError && err.notRunning.length === 0 && err.status === undefined) problem = err.message;
      else throw err;
      // Not answering (starting, or started again): its next answer starts a count of its own.
      after = undefined;
    }
    if (pid !== undefined && !alive(pid)) {
      throw new AgentError(`the agent (pid ${pid}) exited before it was ready: ${problem}${logTail(runDir)}`, undefined, pending);
    }
    if (Date.now() >= deadline) {
      throw new AgentError(`the agent of ${runDir} is not ready after ${timeoutMs} ms: ${problem}${logTail(runDir)}${daemonLogTails(runDir, lastStatus)}`, undefined, pending);
    }
    if (after === undefined) await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A pod counts as an endpoint when every container runs and passes its readinessProbe, as the agent reports. */
export function podReadyFrom(status: Pick<AgentStatus, 'containers'> | undefined): (podKey: string) => boolean {
  const byPod = new Map<string, ContainerStatus[]>();
  for (const c of status?.containers ?? []) byPod.set(c.pod, [...(byPod.get(c.pod) ?? []), c]);
  return (podKey) => {
    const cs = byPod.get(podKey);
    return cs !== undefined && cs.every((c) => c.state === 'running' && c.ready !== false);
  };
}

/**
 * Waits until every running container passes its readinessProbe and
 * kube-proxy and the ingress controllers hold the resulting endpoints, as `kubectl rollout status`
 * waits for a rollout. Returns the containers still not ready at the
 * deadline (`<pod> <container>: <last probe result>`), empty when all are.
 */
export async function waitPodsReady(runDir: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let after: number | undefined;
  for (;;) {
    const status = await agentStatus(runDir, DEFAULT_TIMEOUT_MS, after);
    after = status.generation;
    const waiting = status.containers.filter((c) => c.state === 'running' && c.ready === false);
    if (waiting.length === 0 && !status.proxy?.pending && ingressBehind(runDir, status).length === 0) return [];
    if (Date.now() >= deadline) return waiting.map((c) => `${c.pod} ${c.container}: ${c.probe ?? 'no probe result yet'}`);
    if (after === undefined) await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
