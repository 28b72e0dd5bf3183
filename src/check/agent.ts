/**
 * The lab's processes, as the agent reports them: the agent itself, every
 * daemon the plan asks for (the udp backend's forwarder, the DNS servers,
 * the ingress controllers, the load balancer) and every container. Pure:
 * the status comes in, the differences go out.
 */
import type { AgentStatus } from '../agent/protocol.js';
import type { DaemonSpec } from '../model/daemons.js';
import type { Plan } from '../model/types.js';
import type { Difference } from './compare.js';

export function processDifferences(plan: Plan, daemons: readonly DaemonSpec[], status: AgentStatus | undefined, places: ReadonlyMap<string, string>, agentError?: string): Difference[] {
  if (!status) return [{ place: 'lab', component: 'agent', object: 'agent', problem: `not running${agentError ? ` (${agentError})` : ''}; no container, kube-proxy, policy or daemon is served` }];
  const out: Difference[] = [];
  const byName = new Map((status.daemons ?? []).map((d) => [d.name, d]));
  for (const spec of daemons) {
    const d = byName.get(spec.name);
    const place = places.get(spec.netns) ?? spec.netns;
    if (!d) out.push({ place, component: 'agent', object: `daemon ${spec.name}`, problem: 'not started' });
    else if (d.state !== 'running') out.push({ place, component: 'agent', object: `daemon ${spec.name}`, problem: `not running (${d.state}${d.lastExit ? `, last ${d.lastExit}` : ''}); see ${d.log}` });
  }
  const podPlace = new Map(plan.pods.map((p) => [p.key, places.get(p.netns) ?? `pod ${p.key}`]));
  for (const c of status.containers) {
    if (c.state === 'running') continue;
    out.push({ place: podPlace.get(c.pod) ?? `pod ${c.pod}`, component: 'agent', object: `container ${c.container}`, problem: `${c.state}${c.lastError ? ` (${c.lastError})` : ''}` });
  }
  return out;
}
