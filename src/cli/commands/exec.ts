/**
 * `exec TARGET [-c CONTAINER] -- CMD...`: runs CMD in a pod, node or
 * external host. It joins the holder's UTS namespace (so `hostname` is the
 * pod's) and runs through `ip netns exec`, which bind-mounts the pod's
 * /etc/netns files (hosts, resolv.conf). The exit code passes through.
 */
import { spawn } from 'node:child_process';
import { readHolders } from '../../apply/state.js';
import { inNetnsEtc, netnsPath } from '../../kernel/netns.js';
import { isAlive } from '../../kernel/procs.js';
import { resolveTarget } from '../../model/targets.js';
import { checkEnvironment } from '../../apply/environment.js';
import { flag, usageError, type ParsedArgs } from '../args.js';
import { requirePlan, resolveLabName } from '../resolve.js';
import { existsSync } from 'node:fs';

export async function execCommand(args: ParsedArgs): Promise<number> {
  checkEnvironment(['ip', 'nsenter']);
  const [targetText] = args.positionals;
  if (!targetText || args.rest.length === 0) throw usageError('usage: kube-netlab exec [--name N] TARGET [-c CONTAINER] -- CMD [ARGS...]');
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: [] }));
  const target = resolveTarget(plan, targetText);
  const container = flag(args, 'container');
  if (container !== undefined && !target.containers?.includes(container)) {
    throw usageError(`${target.label} has no container '${container}'${target.containers ? `; containers: ${target.containers.join(', ')}` : ''}`);
  }
  if (!existsSync(netnsPath(target.netns))) throw usageError(`the namespace of ${target.label} (${target.netns}) is gone; rebuild the lab with 'kube-netlab up'`);
  const holder = readHolders(plan.lab)[target.netns];
  const argv = inNetnsEtc(target.netns, args.rest);
  const full = holder !== undefined && isAlive(holder) ? ['nsenter', `--uts=/proc/${holder}/ns/uts`, '--', ...argv] : argv;
  return await new Promise<number>((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}
