/**
 * Readiness as the kubelet decides it: a container with a readinessProbe is
 * not ready until `successThreshold` probes in a row succeed, and stops
 * being ready after `failureThreshold` failures in a row; one without a
 * probe is ready while it runs. A pod is ready when all its containers are.
 * Pure state: the agent feeds it probe results and container states.
 */
import type { ProbeSpec } from '../spec/services.js';

interface ProbeState {
  probe: ProbeSpec;
  ready: boolean;
  successes: number;
  failures: number;
  /** What the last probe said, for `get pods` and logs. */
  last?: string;
}

export class ReadinessTracker {
  /** By container key `<ns>/<pod>/<container>`. */
  private readonly probes = new Map<string, ProbeState>();

  /** Registers the probed containers of a plan; a container keeps its state when its probe is unchanged. */
  setProbes(probes: Map<string, ProbeSpec>): void {
    for (const key of [...this.probes.keys()]) {
      const next = probes.get(key);
      if (!next || JSON.stringify(next) !== JSON.stringify(this.probes.get(key)!.probe)) this.probes.delete(key);
    }
    for (const [key, probe] of probes) {
      if (!this.probes.has(key)) this.probes.set(key, { probe, ready: false, successes: 0, failures: 0 });
    }
  }

  /** Records one probe result; returns true when the container's readiness changed. */
  record(key: string, ok: boolean, detail: string): boolean {
    const s = this.probes.get(key);
    if (!s) return false;
    s.last = detail;
    const before = s.ready;
    if (ok) {
      s.failures = 0;
      s.successes++;
      if (s.successes >= s.probe.successThreshold) s.ready = true;
    } else {
      s.successes = 0;
      s.failures++;
      if (s.failures >= s.probe.failureThreshold) s.ready = false;
    }
    return s.ready !== before;
  }

  /** A restarted container starts over: not ready until its probe passes again. */
  reset(key: string): void {
    const s = this.probes.get(key);
    if (s) Object.assign(s, { ready: false, successes: 0, failures: 0 });
  }

  /** Whether a running container counts as ready. */
  containerReady(key: string): boolean {
    return this.probes.get(key)?.ready ?? true;
  }

  lastResult(key: string): string | undefined {
    return this.probes.get(key)?.last;
  }
}
