/**
 * One `verify` run against a running lab, as data: `check`'s differences
 * first (a broken lab says what is broken before the paths that fail
 * because of it), then every path check, then every ReachabilityTest cell.
 * The `verify` verb formats it; the exercise grader reads it.
 */
import { agentStatus, podReadyFrom } from '../agent/client.js';
import { labDir } from '../apply/state.js';
import { checkLab, differenceLine } from '../check/index.js';
import { proxyInputs } from '../model/endpoints.js';
import type { Plan } from '../model/types.js';
import { resolveReachabilityTests } from '../reachability/resolve.js';
import { cellDetails } from '../reachability/report.js';
import { measureTests } from '../reachability/run.js';
import { ConfigError } from '../util/errors.js';
import { neighbourTableLimit, neighbourTableOverflows, overflowNote } from '../kernel/neighbour-table.js';
import { allChecks, type PathId } from './checks.js';
import { PolicyView } from './policy-view.js';
import type { CheckResult, VerifyReport } from './report.js';
import { runChecks, type CheckProgress } from './run.js';

export const VERIFY_PATHS: readonly PathId[] = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9', 'P10', 'P11', 'P12', 'P13', 'NODE', 'MTU', 'CHECK'];
export const REACHABILITY = 'reachability';

export async function verifyLab(plan: Plan, opts: { only?: ReadonlySet<string> | undefined; log?: (line: string) => void; onProgress?: CheckProgress } = {}): Promise<VerifyReport> {
  const selected = opts.only;
  const progress = opts.log ?? (() => {});
  // Service checks follow the endpoints kube-proxy programs now, which depend on readiness the agent knows.
  const agent = await agentStatus(labDir(plan.lab)).catch((err: unknown) => {
    progress(`cannot ask the agent for readiness (${(err as Error).message}); service checks assume no pod is ready`);
    return undefined;
  });
  const ready = podReadyFrom(agent);
  const proxy = proxyInputs(plan, ready);
  // One policy engine for the path checks and the tests.
  const view = new PolicyView(plan, proxy);
  const { tests, problems } = resolveReachabilityTests(view.world);
  if (problems.length) throw new ConfigError(problems);
  const checks = allChecks(plan, proxy, ready, view).filter((c) => !selected || selected.has(c.path));
  const reach = !selected || selected.has(REACHABILITY) ? tests : [];
  const cells = reach.reduce((n, t) => n + t.cells.length, 0);
  // The kernel objects first: a broken lab says what is broken before the paths that fail because of it.
  const started = performance.now();
  const drift = !selected || selected.has('CHECK') ? await checkLab(plan) : { objects: 0, differences: [] };
  const driftResults: CheckResult[] = drift.differences.map((d) => ({ path: 'CHECK' as const, name: `CHECK ${differenceLine(d)}`, ok: false, details: ['the kernel differs from the plan (`check` lists every difference)'], durationMs: 0 }));
  if (drift.objects && !drift.differences.length) driftResults.push({ path: 'CHECK', name: `CHECK ${drift.objects} kernel objects and the lab's processes as the plan says`, ok: true, details: [], durationMs: Math.round(performance.now() - started) });
  progress(`running ${checks.length} checks${reach.length ? ` and ${reach.length} ReachabilityTest(s) with ${cells} cells` : ''} on lab ${plan.lab}`);
  const overflowsBefore = neighbourTableOverflows();
  const results = await runChecks(checks, plan, undefined, opts.onProgress);
  // After the path checks, so their traffic and the cells' do not meet.
  const measured = await measureTests(plan, reach);
  const cellResults: CheckResult[] = measured.flatMap((t) =>
    t.cells.map((c) => ({ path: 'REACH' as const, name: c.name, ok: c.ok, details: cellDetails(c), durationMs: c.outcome?.ms ?? 0, group: t.name })),
  );
  const overflows = neighbourTableOverflows() - overflowsBefore;
  const notes = overflows > 0 ? [overflowNote(overflows, plan.pods.length, plan.nodes.length, neighbourTableLimit(), plan.staticNeighbours)] : [];
  const report: VerifyReport = {
    lab: plan.lab,
    backend: plan.spec.podNetwork.backend,
    results: [...driftResults, ...results, ...cellResults],
    ...(measured.length ? { reachability: measured } : {}),
    ...(notes.length ? { notes } : {}),
  };
  return report;
}
