/**
 * Every kernel object the plan decides, by component: the topology (the
 * internet side, the router, the nodes' eth0 and cbr0, the pods' veths),
 * the pod-network backend's own objects, and the sysctls. Made from the same
 * renderers `up` runs.
 */
import type { Plan } from '../model/types.js';
import { podNetworkBackend } from '../render/pod-network/index.js';
import { renderExternalClients, renderInternet, renderLoadBalancer, renderNodes, renderPods, renderRouter, renderSysctls } from '../render/topology.js';
import { objectsOf, sysctlObjects, type LinkObject, type Owned } from './objects.js';

export function expectedObjects(plan: Plan): Owned[] {
  const links = new Map<string, LinkObject>();
  const backend = podNetworkBackend(plan.spec.podNetwork.backend).render(plan);
  return [
    ...objectsOf('internet', [...renderInternet(plan), ...renderExternalClients(plan), ...renderLoadBalancer(plan)], links),
    ...objectsOf('router', renderRouter(plan), links),
    ...objectsOf('node', renderNodes(plan), links),
    ...objectsOf(plan.spec.podNetwork.backend, [...backend.router, ...backend.nodes, ...(backend.stages ?? []).flat()], links),
    ...objectsOf('pod', renderPods(plan), links),
    ...sysctlObjects('sysctl', renderSysctls(plan)),
  ];
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
