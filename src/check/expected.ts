/** What `check` calls each namespace of a lab. */
import type { Plan } from '../model/types.js';

/** What a namespace is called in `check`'s output: the node, `pod <ns>/<name>`, or the internet-side role. */
export function placeNames(plan: Plan): Map<string, string> {
  const out = new Map<string, string>();
  out.set(plan.router.netns, 'router');
  out.set(plan.internet.netns, 'internet');
  out.set(plan.internet.loadBalancer.netns, 'lb');
  for (const c of plan.internet.clients) out.set(c.netns, c.name);
  for (const s of plan.internet.servers) out.set(s.netns, s.name);
  for (const n of plan.nodes) out.set(n.netns, n.name);
  for (const p of plan.pods) if (!p.hostNetwork) out.set(p.netns, `pod ${p.key}`);
  return out;
}
