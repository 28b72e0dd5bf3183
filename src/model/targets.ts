/**
 * Names a user gives to `exec` (and later `trace`): `pod`, `ns/pod`,
 * `node/NAME`, `external`, `router`, `internet`, `lb` (the cloud load
 * balancer) and the external servers by name, resolved against a plan.
 */
import { LabNotFoundError } from '../util/errors.js';
import type { Plan } from './types.js';

export interface Target {
  kind: 'pod' | 'node' | 'external' | 'router' | 'internet' | 'lb';
  /** Display name: `ns/pod`, `node/node1`, `external`. */
  label: string;
  netns: string;
  /** Container names, for pods. */
  containers?: string[];
}

export function resolveTarget(plan: Plan, text: string): Target {
  const [head, tail] = text.includes('/') ? (text.split('/', 2) as [string, string]) : [undefined, text];
  if (head === 'node' || head === 'nodes' || head === 'no') {
    const node = plan.nodes.find((n) => n.name === tail);
    if (!node) throw new LabNotFoundError(`no node '${tail}' in lab ${plan.lab}; nodes: ${plan.nodes.map((n) => n.name).join(', ')}`);
    return { kind: 'node', label: `node/${node.name}`, netns: node.netns };
  }
  if (head === undefined || head === 'external') {
    const client = plan.internet.clients.find((c) => c.name === tail || (head === 'external' && c.name === tail));
    if (client) return { kind: 'external', label: client.name, netns: client.netns };
    if (tail === 'router') return { kind: 'router', label: 'router', netns: plan.router.netns };
    if (tail === 'internet') return { kind: 'internet', label: 'internet', netns: plan.internet.netns };
    if (tail === 'lb' && plan.internet.loadBalancer) return { kind: 'lb', label: 'lb', netns: plan.internet.loadBalancer.netns };
    const server = plan.internet.servers?.find((s) => s.name === tail);
    if (server) return { kind: 'external', label: server.name, netns: server.netns };
  }
  const matches = plan.pods.filter((p) => p.name === tail && (head === undefined || head === 'pod' || head === 'pods' || p.namespace === head));
  if (matches.length === 1) {
    const p = matches[0]!;
    return { kind: 'pod', label: p.key, netns: p.netns, containers: p.containers.map((c) => c.name) };
  }
  if (matches.length > 1) {
    throw new LabNotFoundError(`'${text}' matches pods in several namespaces (${matches.map((p) => p.key).join(', ')}); write it as NAMESPACE/POD`);
  }
  throw new LabNotFoundError(
    `no pod, node or external host '${text}' in lab ${plan.lab}; pods: ${plan.pods.map((p) => p.key).join(', ') || 'none'}; nodes: ${plan.nodes.map((n) => `node/${n.name}`).join(', ')}; also: external, router, internet, lb${plan.internet.servers?.length ? `, ${plan.internet.servers.map((s) => s.name).join(', ')}` : ''}`,
  );
}
