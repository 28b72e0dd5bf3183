/**
 * `verify [--tap | --junit FILE | -o json] [--only P5,P11,reachability]`:
 * every path check against the running lab, then every ReachabilityTest,
 * measured cell by cell. Exit 1 when any check or cell fails, 2 when a test
 * names what the lab does not have.
 */
import { writeFileSync } from 'node:fs';
import { checkEnvironment } from '../../apply/environment.js';
import { verifyLab, VERIFY_PATHS as PATHS, REACHABILITY } from '../../verify/lab.js';
import { formatHuman, formatJson, formatJunit, formatTap, counts } from '../../verify/report.js';
import { flag, flagList, has, usageError, type ParsedArgs } from '../args.js';
import { liveProgress, out, progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';


/** `--only P5,P11,reachability`: the paths to check; undefined: all of them. */
function only(args: ParsedArgs): Set<string> | undefined {
  const text = flag(args, 'only');
  if (text === undefined) return undefined;
  const wanted = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => w !== REACHABILITY && !(PATHS as readonly string[]).includes(w));
  if (unknown.length || wanted.length === 0) throw usageError(`--only ${text}: give a comma-separated list of ${PATHS.join(', ')} and ${REACHABILITY}`);
  return new Set(wanted);
}

export async function verifyCommand(args: ParsedArgs): Promise<number> {
  const output = flag(args, 'output');
  if (output && output !== 'json') throw usageError(`verify -o ${output}: only -o json is supported`);
  const selected = only(args);
  checkEnvironment(['ip', 'nsenter', 'ping', 'curl']);
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: flagList(args, 'file') }));
  // On a terminal, a line that counts the checks as they finish: a big lab has thousands.
  const live = liveProgress();
  const report = await verifyLab(plan, { only: selected, log: progress, onProgress: (done, total, failed) => live.update(`${done}/${total} checks${failed ? `, ${failed} failed` : ''}`) });
  live.done();
  const junit = flag(args, 'junit');
  if (junit) writeFileSync(junit, formatJunit(report));
  if (has(args, 'tap')) out(formatTap(report));
  else if (output === 'json') out(formatJson(report));
  else out(formatHuman(report));
  return counts(report).failed ? 1 : 0;
}
