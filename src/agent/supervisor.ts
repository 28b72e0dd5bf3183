/**
 * Every container the agent runs, kept in step with the plan: start what is
 * new, stop what is gone, leave the rest alone.
 */
import { Container, type ContainerDeps } from './containers.js';
import { diffTargets, type ContainerTarget } from './plan-targets.js';
import type { ContainerStatus, KilledContainer } from './protocol.js';

export interface ReconcileSummary {
  started: string[];
  stopped: string[];
  unchanged: number;
}

/** Why a kill found nothing to kill, phrased for the user. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class Supervisor {
  /** In plan order. */
  private containers = new Map<string, Container>();

  constructor(private readonly deps: ContainerDeps) {}

  apply(desired: ContainerTarget[]): ReconcileSummary {
    const diff = diffTargets([...this.containers.values()].map((c) => c.target), desired);
    // Stop first: a changed container reopens ports its old instance holds.
    for (const t of diff.stop) {
      this.containers.get(t.key)?.stop();
      this.containers.delete(t.key);
      this.deps.log(`container ${t.container} of pod ${t.podKey} stopped (no longer in the plan as it was)`);
    }
    const next = new Map<string, Container>();
    const fresh: Container[] = [];
    for (const t of desired) {
      let c = this.containers.get(t.key);
      if (!c) {
        c = new Container(t, this.deps);
        fresh.push(c);
      }
      next.set(t.key, c);
    }
    this.containers = next;
    for (const c of fresh) c.start();
    return { started: diff.start.map((t) => t.key), stopped: diff.stop.map((t) => t.key), unchanged: diff.unchanged.length };
  }

  /** Kills one container of a pod, or all of them; throws NotFoundError when there is no such thing. */
  kill(podKey: string, container?: string): KilledContainer[] {
    const ofPod = [...this.containers.values()].filter((c) => c.target.podKey === podKey);
    if (ofPod.length === 0) {
      const pods = [...new Set([...this.containers.values()].map((c) => c.target.podKey))];
      throw new NotFoundError(
        `no pod '${podKey}' among the agent's containers (pods are named namespace/name; ` +
          `${pods.length ? `known: ${pods.slice(0, 10).join(', ')}${pods.length > 10 ? ', ...' : ''}` : 'the plan has none'})`,
      );
    }
    const chosen = container === undefined ? ofPod : ofPod.filter((c) => c.target.container === container);
    if (chosen.length === 0) {
      throw new NotFoundError(`pod '${podKey}' has no container '${container}'; containers: ${ofPod.map((c) => c.target.container).join(', ')}`);
    }
    return chosen.map((c) => ({
      pod: podKey,
      container: c.target.container,
      restartInMs: c.kill('control API'),
    }));
  }

  status(): ContainerStatus[] {
    return [...this.containers.values()].map((c) => c.status());
  }

  stopAll(): void {
    for (const c of this.containers.values()) c.stop();
    this.containers.clear();
  }
}
