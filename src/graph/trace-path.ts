/** A trace as a path in the graph: each hop's namespace and the devices it came in and went out by. */
import { nodePartId, podId, serviceId, type GraphHighlight } from './model.js';
import type { Plan } from '../model/types.js';
import type { TraceResult } from '../trace/index.js';

function placeIds(plan: Plan, netns: string, devices: (string | undefined)[]): string[] {
  const node = plan.nodes.find((n) => n.netns === netns);
  if (node) {
    return devices.flatMap((d) => {
      if (!d) return [];
      if (d === node.bridge || d.startsWith('veth')) return [nodePartId(node.name, 'cbr0')];
      if (d.startsWith('flannel')) return [nodePartId(node.name, 'tunnel')];
      return [nodePartId(node.name, 'eth0')];
    });
  }
  const pod = plan.pods.find((p) => p.netns === netns && !p.hostNetwork);
  if (pod) return [podId(pod.key)];
  if (netns === plan.router.netns) return ['router'];
  if (netns === plan.internet.netns) return ['internet'];
  if (netns === plan.internet.loadBalancer.netns) return ['lb'];
  const client = plan.internet.clients.find((c) => c.netns === netns);
  if (client) return [`client:${client.name}`];
  const server = plan.internet.servers.find((s) => s.netns === netns);
  return server ? [`server:${server.name}`] : [];
}

export function highlightOf(plan: Plan, r: TraceResult): GraphHighlight {
  const main = r.probes.at(-1)!;
  const path: string[] = [];
  for (const h of main.hops.filter((x) => x.direction === 'forward')) {
    for (const id of placeIds(plan, h.netns, [h.in, h.local ? undefined : h.out])) if (path.at(-1) !== id) path.push(id);
  }
  const svc = plan.services.find((s) => s.clusterIP === main.dst.ip || s.loadBalancerIP === main.dst.ip);
  if (svc) path.push(serviceId(svc.key));
  const stopNs = r.verdict.outcome !== 'delivered' ? main.hops.find((h) => h.place === r.verdict.place)?.netns : undefined;
  const stop = stopNs ? placeIds(plan, stopNs, ['eth0'])[0] : undefined;
  return { path, ...(stop ? { stop: { id: stop, reason: r.verdict.line } } : {}) };
}
