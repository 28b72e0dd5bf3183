/**
 * `check [--name N] [-o json]`: every kernel object and process the plan
 * decides, compared with the kernel now, as a CNI plugin's CHECK does.
 * One line per difference, naming the place (node, pod, internet-side
 * role), the component and the object, with what was expected and found.
 * Exit 0 when nothing differs, 1 otherwise.
 */
import { checkEnvironment } from '../../apply/environment.js';
import { checkLab, differenceLine } from '../../check/index.js';
import { flag, flagList, usageError, type ParsedArgs } from '../args.js';
import { out, progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';

export async function checkCommand(args: ParsedArgs): Promise<number> {
  const output = flag(args, 'output');
  if (output && output !== 'json') throw usageError(`check -o ${output}: only -o json is supported`);
  checkEnvironment(['ip', 'bridge', 'nsenter']);
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: flagList(args, 'file') }));
  const started = performance.now();
  const report = await checkLab(plan);
  const ms = Math.round(performance.now() - started);
  if (output === 'json') {
    out(`${JSON.stringify({ lab: report.lab, objects: report.objects, differences: report.differences }, null, 2)}\n`);
  } else {
    for (const d of report.differences) out(`${differenceLine(d)}\n`);
    progress(report.differences.length ? `lab ${plan.lab}: ${report.differences.length} difference(s) from the plan in ${report.objects} objects (${ms} ms)` : `lab ${plan.lab}: ${report.objects} objects as the plan says (${ms} ms)`);
  }
  return report.differences.length ? 1 : 0;
}
