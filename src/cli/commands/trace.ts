/**
 * `trace SRC DST [--port P] [--udp] [-o json]`: one real probe, traced
 * through every namespace it crosses; the hops on stdout in the order the
 * packet went, the verdict last. Exit 0 when the probe was answered, 1 when
 * it was refused or dropped.
 */
import { checkEnvironment } from '../../apply/environment.js';
import { formatTrace, traceCommandResult, traceJson } from '../../trace/index.js';
import { flag, has, usageError, type ParsedArgs } from '../args.js';
import { out } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';

export async function traceCommand(args: ParsedArgs): Promise<number> {
  const output = flag(args, 'output');
  if (output && output !== 'json') throw usageError(`trace -o ${output}: only -o json is supported`);
  if (args.positionals.length !== 2) throw usageError('usage: kube-netlab trace SRC DST [--port P] [--udp] [--name N] [-o json]');
  checkEnvironment(['ip', 'bridge', 'nsenter', 'nft', 'curl']);
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: [] }));
  const result = await traceCommandResult(plan, args.positionals[0]!, args.positionals[1]!, { port: flag(args, 'port'), udp: has(args, 'udp') });
  out(output === 'json' ? `${JSON.stringify(traceJson(result), null, 2)}\n` : formatTrace(result));
  return result.verdict.outcome === 'delivered' ? 0 : 1;
}
