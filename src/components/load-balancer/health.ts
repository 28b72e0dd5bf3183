/**
 * Health of each (node, check) pair, as a cloud load balancer judges it:
 * checked every interval, taken out after `unhealthy` failures in a row and
 * back in after `healthy` successes in a row. A new target takes the
 * result of its first check, and one that has never passed joins on its
 * first success, so a fresh load balancer neither waits for thresholds nor
 * sends to a node that never answered. Pure; the daemon feeds it probe
 * results.
 */
export const HEALTH = {
  intervalMs: 1000,
  timeoutMs: 500,
  /** Two failures in a row: a node that went down is out at most 2 intervals + 1 timeout (2.5 s) after it failed. */
  unhealthy: 2,
  healthy: 2,
} as const;

interface TargetState {
  /** Undefined until the first check. */
  healthy?: boolean;
  /** Has never passed a check. */
  new?: boolean;
  streak: number;
  lastError?: string;
}

export class HealthTable {
  private readonly targets = new Map<string, TargetState>();

  constructor(private readonly thresholds: { unhealthy: number; healthy: number } = HEALTH) {}

  /** Keeps exactly these targets; new ones are unknown until their first check. */
  retain(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const k of [...this.targets.keys()]) if (!keep.has(k)) this.targets.delete(k);
    for (const k of keep) if (!this.targets.has(k)) this.targets.set(k, { streak: 0 });
  }

  /** Records one probe result; true when the target's health flipped. */
  record(key: string, ok: boolean, error?: string): boolean {
    const t = this.targets.get(key);
    if (!t) return false;
    if (t.healthy === undefined) {
      t.healthy = ok;
      t.new = !ok;
      if (!ok && error) t.lastError = error;
      return true;
    }
    // A target that has never passed (its node's health server was not up yet) joins on its first success.
    if (ok && t.new) {
      t.healthy = true;
      t.new = false;
      t.streak = 0;
      delete t.lastError;
      return true;
    }
    if (ok === t.healthy) {
      if (ok) t.new = false;
      t.streak = 0;
      if (ok) delete t.lastError;
      return false;
    }
    t.streak++;
    if (!ok && error) t.lastError = error;
    const needed = ok ? this.thresholds.healthy : this.thresholds.unhealthy;
    if (t.streak < needed) return false;
    t.healthy = ok;
    t.streak = 0;
    if (ok) delete t.lastError;
    return true;
  }

  isHealthy(key: string): boolean {
    return this.targets.get(key)?.healthy === true;
  }

  lastError(key: string): string | undefined {
    return this.targets.get(key)?.lastError;
  }
}
