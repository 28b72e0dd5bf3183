/** Runs checks with bounded parallelism; a check passes when all its probes do. */
import { mapLimit } from '../util/concurrency.js';
import type { Check } from './checks.js';
import { runProbe } from './probes.js';
import type { CheckResult } from './report.js';

/**
 * In-process connection probes cost a socket each and mostly wait (a dropped
 * one waits out its second), so many run at once; the others start tools
 * (ping, curl, dig, tcpdump) and stay at `concurrency`.
 */
const IN_PROCESS_CONCURRENCY = 64;

async function runCheck(check: Check): Promise<CheckResult> {
  const started = performance.now();
  const results = await Promise.all(check.probes.map(runProbe));
  return {
    path: check.path,
    name: check.name,
    ok: results.every((r) => r.ok),
    details: results.map((r) => r.detail),
    durationMs: performance.now() - started,
  };
}

export async function runChecks(checks: Check[], concurrency = 8): Promise<CheckResult[]> {
  const isInProcess = (c: Check) => c.probes.every((p) => p.kind === 'connect');
  const inProcess = checks.filter(isInProcess);
  const tools = checks.filter((c) => !isInProcess(c));
  const results = new Map<Check, CheckResult>();
  await Promise.all([
    mapLimit(inProcess, IN_PROCESS_CONCURRENCY, async (c) => results.set(c, await runCheck(c))),
    mapLimit(tools, concurrency, async (c) => results.set(c, await runCheck(c))),
  ]);
  // Reported in the order the checks were derived.
  return checks.map((c) => results.get(c)!);
}
