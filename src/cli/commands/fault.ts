/**
 * `fault kill-container POD [-c CONTAINER]`: the container's process dies
 * (its sockets close, connections drop); the pod keeps its namespace and IP,
 * held by its pause process, and the agent restarts the container.
 */
import { agentKill } from '../../agent/client.js';
import { labDir } from '../../apply/state.js';
import { resolveTarget } from '../../model/targets.js';
import { flag, usageError, type ParsedArgs } from '../args.js';
import { progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';

export async function faultCommand(args: ParsedArgs): Promise<number> {
  const [action, targetText] = args.positionals;
  if (action !== 'kill-container' || !targetText) {
    throw usageError('usage: kube-netlab fault [--name N] kill-container POD [-c CONTAINER]');
  }
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: [] }));
  const target = resolveTarget(plan, targetText);
  if (target.kind !== 'pod') throw usageError(`kill-container needs a pod; '${targetText}' is ${target.kind}`);
  const container = flag(args, 'container');
  if (container !== undefined && !target.containers?.includes(container)) {
    throw usageError(`${target.label} has no container '${container}'; containers: ${target.containers?.join(', ')}`);
  }
  await agentKill(labDir(plan.lab), target.label, container);
  progress(`killed ${container ? `container ${container} of ` : 'the containers of '}pod ${target.label}; it restarts shortly, its IP ${plan.pods.find((p) => p.key === target.label)?.ip} stays`);
  return 0;
}
