/**
 * Every kernel object the plan decides, as the components render them, and
 * what `check` calls each namespace.
 */
import { labObjects } from '../components/registry.js';
import type { Owned } from '../components/objects.js';
import type { Plan } from '../model/types.js';

export function expectedObjects(plan: Plan): Owned[] {
  return labObjects(plan);
}

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
