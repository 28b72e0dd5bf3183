/** Runs checks with bounded parallelism; a check passes when all its probes do. */
import { mapLimit } from '../util/concurrency.js';
import type { Check } from './checks.js';
import { runProbe } from './probes.js';
import type { CheckResult } from './report.js';
import { traceLine } from './trace-line.js';

/**
 * In-process connection probes cost a socket each and mostly wait (a dropped
 * one waits out its second), so many run at once; the others start tools
 * (ping, curl, dig, tcpdump) and stay at `concurrency`.
 */
const IN_PROCESS_CONCURRENCY = 64;

async function runCheck(check: Check, lab: string): Promise<CheckResult> {
  const started = performance.now();
  const results = await Promise.all(check.probes.map(runProbe));
  // A failed probe names the trace that follows its packet.
  const explain = check.probes.flatMap((p, i) => {
    const line = results[i]!.ok ? undefined : traceLine(lab, p);
    return line ? [`explain: ${line}`] : [];
  });
  return {
    path: check.path,
    name: check.name,
    ok: results.every((r) => r.ok),
    details: [...results.map((r) => r.detail), ...explain.slice(0, 1)],
    durationMs: performance.now() - started,
  };
}

export async function runChecks(checks: Check[], lab: string, concurrency = 8): Promise<CheckResult[]> {
  const isInProcess = (c: Check) => c.probes.every((p) => p.kind === 'connect');
  const inProcess = checks.filter(isInProcess);
  const tools = checks.filter((c) => !isInProcess(c));
  const results = new Map<Check, CheckResult>();
  await Promise.all([
    mapLimit(inProcess, IN_PROCESS_CONCURRENCY, async (c) => results.set(c, await runCheck(c, lab))),
    mapLimit(tools, concurrency, async (c) => results.set(c, await runCheck(c, lab))),
  ]);
  // Reported in the order the checks were derived.
  return checks.map((c) => results.get(c)!);
}
