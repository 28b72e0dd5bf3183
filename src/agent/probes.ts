/**
 * Runs readinessProbes the way a kubelet does: every `periodSeconds` after
 * `initialDelaySeconds`, from the pod's node. One prober process per node
 * (`prober-main.js`, inside the node's network namespace) takes the jobs;
 * results feed the ReadinessTracker, and a change of any container's
 * readiness is reported through `onChange`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProbeSpec } from '../spec/services.js';
import type { Plan } from '../model/types.js';
import type { Logger } from '../runtime/log.js';
import type { ProbeJob, ProbeResult } from '../runtime/probe-net.js';
import { ReadinessTracker } from './readiness.js';

const PROBER = fileURLToPath(new URL('./prober-main.js', import.meta.url));

export interface ProbeTarget {
  /** `<ns>/<pod>/<container>`. */
  key: string;
  nodeNetns: string;
  podIP: string;
  /** The probe with a named port already resolved to its number. */
  probe: ProbeSpec & { port: number };
}

interface PlanContainer {
  name: string;
  ports: { name?: string; containerPort: number }[];
  readinessProbe?: ProbeSpec;
}

/** The probed containers of a plan, with named ports resolved against the container's own ports. */
export function probeTargets(plan: Plan): ProbeTarget[] {
  const nodes = new Map((plan.nodes ?? []).map((n) => [n.name, n.netns]));
  const out: ProbeTarget[] = [];
  for (const pod of plan.pods) {
    for (const c of pod.containers as PlanContainer[]) {
      const probe = c.readinessProbe;
      if (!probe) continue;
      const p = probe.handler.port;
      const port = typeof p === 'number' ? p : c.ports.find((x) => x.name === p)?.containerPort;
      // config/ refuses a probe naming a port the container lacks; a stale plan may still have one.
      const nodeNetns = nodes.get(pod.node);
      if (port === undefined || nodeNetns === undefined) continue;
      out.push({ key: `${pod.key}/${c.name}`, nodeNetns, podIP: pod.ip, probe: { ...probe, port } });
    }
  }
  return out;
}

/** One long-lived prober per node, spoken to in JSON lines. */
class NodeProber {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: ProbeResult) => void>();

  constructor(
    private readonly netns: string,
    private readonly log: Logger,
  ) {}

  private start(): ChildProcess {
    const child = spawn('nsenter', [`--net=/run/netns/${this.netns}`, '--', process.execPath, PROBER], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as ProbeResult;
      this.waiting.get(r.id)?.(r);
      this.waiting.delete(r.id);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      for (const [id, done] of this.waiting) done({ id, ok: false, detail: `the prober of ${this.netns} exited (${signal ?? code})` });
      this.waiting.clear();
    });
    child.on('error', (err) => this.log(`prober in ${this.netns}: ${err.message}`));
    this.child = child;
    return child;
  }

  probe(job: Omit<ProbeJob, 'id'>): Promise<ProbeResult> {
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      child.stdin!.write(`${JSON.stringify({ ...job, id })}\n`);
    });
  }

  stop(): void {
    this.child?.stdin?.end();
    this.child?.kill();
    this.child = undefined;
  }
}

const NOT_RUNNING = 'container not running';
const NOT_RUNNING_RECHECK_MS = 100;

export class ProbeScheduler {
  readonly tracker = new ReadinessTracker();
  private readonly probers = new Map<string, NodeProber>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private targets = new Map<string, ProbeTarget>();

  constructor(
    private readonly log: Logger,
    private readonly onChange: () => void,
    /** Whether the container is running now; a probe of a stopped container fails without being sent. */
    private readonly running: (key: string) => boolean,
  ) {}

  apply(targets: ProbeTarget[]): void {
    const before = this.targets;
    // An unchanged target keeps its object: its pending timer runs only while it is the current one.
    const next = new Map(
      targets.map((t) => {
        const old = before.get(t.key);
        return [t.key, old && this.timers.has(t.key) && JSON.stringify(old) === JSON.stringify(t) ? old : t];
      }),
    );
    for (const [key, old] of before) {
      if (next.get(key) !== old) {
        clearTimeout(this.timers.get(key));
        this.timers.delete(key);
      }
    }
    this.tracker.setProbes(new Map(targets.map((t) => [t.key, t.probe])));
    this.targets = next;
    for (const t of next.values()) {
      if (!this.timers.has(t.key)) this.schedule(t, t.probe.initialDelaySeconds * 1000);
    }
    for (const [netns, p] of this.probers) {
      if (!targets.some((t) => t.nodeNetns === netns)) {
        p.stop();
        this.probers.delete(netns);
      }
    }
  }

  private schedule(t: ProbeTarget, delayMs: number): void {
    this.timers.set(
      t.key,
      setTimeout(() => void this.run(t), delayMs),
    );
  }

  private async run(t: ProbeTarget): Promise<void> {
    if (this.targets.get(t.key) !== t) return;
    let ok = false;
    let detail = NOT_RUNNING;
    if (this.running(t.key)) {
      let prober = this.probers.get(t.nodeNetns);
      if (!prober) {
        prober = new NodeProber(t.nodeNetns, this.log);
        this.probers.set(t.nodeNetns, prober);
      }
      const h = t.probe.handler;
      const r = await prober.probe({
        kind: h.kind === 'httpGet' ? 'http' : 'tcp',
        ip: t.podIP,
        port: t.probe.port,
        ...(h.kind === 'httpGet' ? { path: h.path } : {}),
        timeoutMs: t.probe.timeoutSeconds * 1000,
      });
      ({ ok, detail } = r);
    }
    if (this.targets.get(t.key) !== t) return;
    if (this.tracker.record(t.key, ok, detail)) {
      this.log(`readiness of ${t.key}: ${this.tracker.containerReady(t.key) ? 'ready' : `not ready (${detail})`}`);
      this.onChange();
    }
    // The kubelet probes a container once it runs: one that is not running yet (or again) is looked at shortly, not a period later.
    this.schedule(t, detail === NOT_RUNNING ? Math.min(NOT_RUNNING_RECHECK_MS, t.probe.periodSeconds * 1000) : t.probe.periodSeconds * 1000);
  }

  stopAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const p of this.probers.values()) p.stop();
    this.probers.clear();
    this.targets.clear();
  }
}
