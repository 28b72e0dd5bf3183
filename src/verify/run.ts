/** Runs checks with bounded parallelism; a check passes when all its probes do. */
import { mapLimit } from '../util/concurrency.js';
import type { Check } from './checks.js';
import { runProbe } from './probes.js';
import type { CheckResult } from './report.js';

export async function runChecks(checks: Check[], concurrency = 8): Promise<CheckResult[]> {
  return mapLimit(checks, concurrency, async (check) => {
    const started = performance.now();
    const results = await Promise.all(check.probes.map(runProbe));
    return {
      path: check.path,
      name: check.name,
      ok: results.every((r) => r.ok),
      details: results.map((r) => r.detail),
      durationMs: performance.now() - started,
    };
  });
}
