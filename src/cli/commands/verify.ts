/**
 * `verify [--tap | --junit FILE | -o json]`: every path check against the
 * running lab. Exit 1 when any fails.
 */
import { writeFileSync } from 'node:fs';
import { checkEnvironment } from '../../apply/environment.js';
import { agentStatus, podReadyFrom } from '../../agent/client.js';
import { labDir } from '../../apply/state.js';
import { proxyInputs } from '../../model/endpoints.js';
import { allChecks } from '../../verify/checks.js';
import { formatHuman, formatJson, formatJunit, formatTap, counts, type VerifyReport } from '../../verify/report.js';
import { runChecks } from '../../verify/run.js';
import { flag, flagList, has, usageError, type ParsedArgs } from '../args.js';
import { out, progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';

export async function verifyCommand(args: ParsedArgs): Promise<number> {
  const output = flag(args, 'output');
  if (output && output !== 'json') throw usageError(`verify -o ${output}: only -o json is supported`);
  checkEnvironment(['ip', 'nsenter', 'ping', 'curl']);
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: flagList(args, 'file') }));
  // Service checks follow the endpoints kube-proxy programs now, which depend on readiness the agent knows.
  const agent = await agentStatus(labDir(plan.lab)).catch((err: unknown) => {
    progress(`cannot ask the agent for readiness (${(err as Error).message}); service checks assume no pod is ready`);
    return undefined;
  });
  const ready = podReadyFrom(agent);
  const checks = allChecks(plan, proxyInputs(plan, ready), ready);
  progress(`running ${checks.length} checks on lab ${plan.lab}`);
  const report: VerifyReport = { lab: plan.lab, backend: plan.spec.podNetwork.backend, results: await runChecks(checks) };
  const junit = flag(args, 'junit');
  if (junit) writeFileSync(junit, formatJunit(report));
  if (has(args, 'tap')) out(formatTap(report));
  else if (output === 'json') out(formatJson(report));
  else out(formatHuman(report));
  return counts(report).failed ? 1 : 0;
}
