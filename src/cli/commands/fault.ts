/**
 * `fault`: what goes wrong in a real cluster, on purpose.
 *  - `kill-container POD [-c CONTAINER]` / `kill-pod POD`: the container
 *    processes die (sockets close, connections drop); the pod keeps its
 *    namespace and IP, held by its pause process, and the agent restarts
 *    the containers with the kubelet's backoff. Until its readiness probe
 *    passes again the pod is out of its services' endpoints.
 *  - `node-down NODE` / `node-up NODE`: the node's link to the node network
 *    is cut (the router's end of its cable goes down) and restored. The
 *    node keeps running; nothing reaches it or leaves it, as when a VM
 *    hangs or loses its network. The agent's node lifecycle controller is
 *    told, as it would stop hearing the kubelet.
 */
import { agentKill, agentNode } from '../../agent/client.js';
import { DEFAULTS } from '../../config/defaults.js';
import { labDir } from '../../apply/state.js';
import { runBatch } from '../../kernel/netns.js';
import { resolveTarget } from '../../model/targets.js';
import type { Plan } from '../../model/types.js';
import { flag, usageError, type ParsedArgs } from '../args.js';
import { progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';

import { FAULT_USAGE } from './usage-lines.js';

export async function faultCommand(args: ParsedArgs): Promise<number> {
  const [action, targetText] = args.positionals;
  if (!action || !targetText || !['kill-container', 'kill-pod', 'node-down', 'node-up'].includes(action)) {
    throw usageError(`usage: kube-netlab ${FAULT_USAGE}`);
  }
  const plan = requirePlan(resolveLabName({ name: flag(args, 'name'), files: [] }));
  if (action === 'node-down' || action === 'node-up') return nodeLink(plan, targetText, action === 'node-up');
  const target = resolveTarget(plan, targetText);
  if (target.kind !== 'pod') throw usageError(`${action} needs a pod; '${targetText}' is ${target.kind}`);
  const container = action === 'kill-container' ? flag(args, 'container') : undefined;
  if (container !== undefined && !target.containers?.includes(container)) {
    throw usageError(`${target.label} has no container '${container}'; containers: ${target.containers?.join(', ')}`);
  }
  await agentKill(labDir(plan.lab), target.label, container);
  progress(`killed ${container ? `container ${container} of ` : 'the containers of '}pod ${target.label}; it restarts shortly, its IP ${plan.pods.find((p) => p.key === target.label)?.ip} stays`);
  return 0;
}

async function nodeLink(plan: Plan, text: string, up: boolean): Promise<number> {
  const name = text.replace(/^node\//, '');
  const node = plan.nodes.find((n) => n.name === name);
  if (!node) throw usageError(`no node '${text}' in lab ${plan.lab}; nodes: ${plan.nodes.map((n) => n.name).join(', ')}`);
  await runBatch({ netns: plan.router.netns, lines: [`link set ${node.uplinkPeer} ${up ? 'up' : 'down'}`] });
  // The kubelet's heartbeats stop with the link: the node lifecycle controller must hear of it.
  const grace = plan.spec.nodeMonitorGracePeriodSeconds ?? DEFAULTS.nodeMonitorGracePeriodSeconds;
  await agentNode(labDir(plan.lab), node.name, up).catch((err: Error) => progress(`the agent did not take note (${err.message}); pods on ${node.name} stay in their services`));
  progress(
    up
      ? `node ${node.name} (${node.ip}) is back on the node network; load balancers take it back after 2 passing health checks`
      : `node ${node.name} (${node.ip}) is cut off the node network; load balancers stop sending to it within 3 s, and after ${grace} s (nodeMonitorGracePeriodSeconds) it is NotReady and its pods leave every service. Restore it with: kube-netlab fault --name ${plan.lab} node-up ${node.name}`,
  );
  return 0;
}
