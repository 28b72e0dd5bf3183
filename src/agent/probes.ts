/**
 * Runs readinessProbes the way a kubelet does: every `periodSeconds` after
 * `initialDelaySeconds`, from the pod's node. Each probe's socket is made
 * inside the node's network namespace (kernel/ffi.ts) and driven by this
 * process, so probes leave from the node as a kubelet's do without a
 * process per node; a container that starts is probed at once. Results
 * feed the ReadinessTracker, and a change of any container's readiness is
 * reported through `onChange`.
 */
import { Socket } from 'node:net';
import type { ProbeSpec } from '../spec/services.js';
import type { Plan } from '../model/types.js';
import type { Logger } from '../runtime/log.js';
import { httpProbe, tcpProbe, type SocketSource } from '../runtime/probe-net.js';
import { ReadinessTracker } from './readiness.js';

/** Makes an unconnected TCP socket inside a namespace (the agent passes kernel/ffi's; tests may pass their own). */
export type OpenClientSocket = (netnsPath: string) => number;

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
  const nodes = new Map(plan.nodes.map((n) => [n.name, n.netns]));
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

const NOT_RUNNING = 'container not running';
// Short: a container whose daemon is still starting is probed within a few ms of serving, which is what `up` waits for.
const NOT_RUNNING_RECHECK_MS = 25;

export class ProbeScheduler {
  readonly tracker = new ReadinessTracker();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private targets = new Map<string, ProbeTarget>();

  constructor(
    private readonly log: Logger,
    private readonly onChange: () => void,
    /** Whether the container is running now; a probe of a stopped container fails without being sent. */
    private readonly running: (key: string) => boolean,
    private readonly openSocket: OpenClientSocket,
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
      const h = t.probe.handler;
      const job = { id: 0, ip: t.podIP, port: t.probe.port, timeoutMs: t.probe.timeoutSeconds * 1000 };
      const from: SocketSource = () => new Socket({ fd: this.openSocket(`/run/netns/${t.nodeNetns}`), readable: true, writable: true });
      ({ ok, detail } = h.kind === 'httpGet' ? await httpProbe({ ...job, kind: 'http', path: h.path }, from) : await tcpProbe({ ...job, kind: 'tcp' }, from));
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
    this.targets.clear();
  }
}
