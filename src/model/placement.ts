/**
 * Scheduling: `nodeName` pins, `nodeSelector` filters, otherwise the least
 * loaded candidate wins, ties broken by node order — a deterministic
 * round-robin. Pods already placed by a previous plan stay where they are.
 */
import { ConfigError, type ConfigProblem } from '../util/errors.js';
import type { NodeSpec, PodSpec } from '../spec/lab.js';

function matches(node: NodeSpec, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => node.labels[k] === v);
}

export function candidatesFor(pod: PodSpec, nodes: NodeSpec[]): NodeSpec[] {
  return nodes.filter(
    (n) => (pod.nodeName === undefined || n.name === pod.nodeName) && matches(n, pod.nodeSelector),
  );
}

/**
 * Returns pod key → node name. `previous` maps pod keys to the node they ran
 * on; a pod keeps it while that node still satisfies its constraints.
 */
export function placePods(
  pods: PodSpec[],
  nodes: NodeSpec[],
  previous: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const load = new Map(nodes.map((n) => [n.name, 0]));
  const placed = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  const pending: PodSpec[] = [];
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.name}`;
    const before = previous.get(key);
    const candidates = candidatesFor(pod, nodes);
    if (candidates.length === 0) {
      const labels = nodes.map((n) => `${n.name} {${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(', ')}}`);
      problems.push({
        code: 'unknown-node',
        source: pod.source,
        message: `pod ${key} fits no node (nodeSelector ${JSON.stringify(pod.nodeSelector ?? {})}${pod.nodeName ? `, nodeName ${pod.nodeName}` : ''}); nodes are: ${labels.join('; ')}`,
      });
      continue;
    }
    if (before && candidates.some((n) => n.name === before)) {
      placed.set(key, before);
      load.set(before, (load.get(before) ?? 0) + 1);
    } else {
      pending.push(pod);
    }
  }
  for (const pod of pending) {
    const candidates = candidatesFor(pod, nodes);
    let best = candidates[0]!;
    for (const c of candidates) if ((load.get(c.name) ?? 0) < (load.get(best.name) ?? 0)) best = c;
    placed.set(`${pod.namespace}/${pod.name}`, best.name);
    load.set(best.name, (load.get(best.name) ?? 0) + 1);
  }
  if (problems.length) throw new ConfigError(problems);
  return placed;
}
