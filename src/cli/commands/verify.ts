/**
 * `verify [--tap | --junit FILE | -o json] [--only P5,P11,reachability]`:
 * every path check against the running lab, then every ReachabilityTest,
 * measured cell by cell. Exit 1 when any check or cell fails, 2 when a test
 * names what the lab does not have.
 */
import { writeFileSync } from 'node:fs';
import { checkEnvironment } from '../../apply/environment.js';
import { agentStatus, podReadyFrom } from '../../agent/client.js';
import { labDir } from '../../apply/state.js';
import { proxyInputs } from '../../model/endpoints.js';
import { resolveReachabilityTests } from '../../reachability/resolve.js';
import { cellDetails } from '../../reachability/report.js';
import { measureTests } from '../../reachability/run.js';
import { allChecks, type PathId } from '../../verify/checks.js';
import { checkLab, differenceLine } from '../../check/index.js';
import { formatHuman, formatJson, formatJunit, formatTap, counts, type CheckResult, type VerifyReport } from '../../verify/report.js';
import { runChecks } from '../../verify/run.js';
import { PolicyView } from '../../verify/policy-view.js';
import { ConfigError } from '../../util/errors.js';
import { flag, flagList, has, usageError, type ParsedArgs } from '../args.js';
import { out, progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';

const PATHS: readonly PathId[] = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9', 'P10', 'P11', 'P12', 'P13', 'NODE', 'MTU', 'CHECK'];
const REACHABILITY = 'reachability';

/** `--only P5,P11,reachability`: the paths to check; undefined: all of them. */
function only(args: ParsedArgs): Set<string> | undefined {
  const text = flag(args, 'only');
  if (text === undefined) return undefined;
  const wanted = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => w !== REACHABILITY && !PATHS.includes(w as PathId));
  if (unknown.length || wanted.length === 0) throw usageError(`--only ${text}: give a comma-separated list of ${PATHS.join(', ')} and ${REACHABILITY}`);
  return new Set(wanted);
}

export async function verifyCommand(args: ParsedArgs): Promise<number> {
  const output = flag(args, 'output');
  if (output && output !== 'json') throw usageError(`verify -o ${output}: only -o json is supported`);
  const selected = only(args);
  checkEnvironment(['ip', 'nsenter', 'ping', 'curl']);
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: flagList(args, 'file') }));
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
  const results = await runChecks(checks, plan.lab);
  // After the path checks, so their traffic and the cells' do not meet.
  const measured = await measureTests(plan, reach);
  const cellResults: CheckResult[] = measured.flatMap((t) =>
    t.cells.map((c) => ({ path: 'REACH' as const, name: c.name, ok: c.ok, details: cellDetails(c), durationMs: c.outcome?.ms ?? 0, group: t.name })),
  );
  const report: VerifyReport = { lab: plan.lab, backend: plan.spec.podNetwork.backend, results: [...driftResults, ...results, ...cellResults], ...(measured.length ? { reachability: measured } : {}) };
  const junit = flag(args, 'junit');
  if (junit) writeFileSync(junit, formatJunit(report));
  if (has(args, 'tap')) out(formatTap(report));
  else if (output === 'json') out(formatJson(report));
  else out(formatHuman(report));
  return counts(report).failed ? 1 : 0;
}
