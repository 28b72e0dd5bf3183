/**
 * From a stored plan to the containers the agent serves, and what a reload
 * must change. Pure: the agent and its clients read plan.json the same way.
 */
import { createHash } from 'node:crypto';
import type { Plan } from '../model/types.js';
import type { Protocol } from '../spec/lab.js';

export interface PortTarget {
  port: number;
  protocol: Protocol;
}

/** One container of one pod: what the agent opens, and what it answers with. */
export interface ContainerTarget {
  /** `<namespace>/<pod>/<container>`, unique in a plan. */
  key: string;
  /** `<namespace>/<pod>` */
  podKey: string;
  namespace: string;
  pod: string;
  container: string;
  node: string;
  podIP: string;
  /** Name of the pod's network namespace (under /run/netns). */
  netns: string;
  ports: PortTarget[];
}

/** Short digest of plan.json's bytes: equal texts, equal versions. */
export function planDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function fail(file: string, where: string, what: string): never {
  throw new Error(`${file}: ${where}: ${what}; rebuild the plan with \`up\``);
}

function str(file: string, where: string, value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') fail(file, where, `'${field}' must be a non-empty string`);
  return value;
}

/**
 * A plan.json as `up` and `apply` write it: the agent refuses anything less
 * (a half-written or hand-made file) before it reads a field, so no code
 * after this guards against missing parts. Names the first part missing.
 */
export function checkPlanShape(plan: unknown, file = 'plan.json'): asserts plan is Plan {
  if (!plan || typeof plan !== 'object') fail(file, 'top level', 'must be an object');
  const p = plan as Record<string, unknown>;
  if (p.version !== 1) fail(file, 'version', `is ${JSON.stringify(p.version)}, this agent reads version 1`);
  for (const list of ['nodes', 'pods', 'services', 'ingresses'] as const) {
    if (!Array.isArray(p[list])) fail(file, 'top level', `'${list}' must be a list`);
  }
  for (const part of ['spec', 'router', 'internet'] as const) {
    if (!p[part] || typeof p[part] !== 'object') fail(file, 'top level', `'${part}' must be an object`);
  }
  const internet = p.internet as Record<string, unknown>;
  if (!Array.isArray(internet.servers) || !Array.isArray(internet.clients) || !internet.resolver || !internet.loadBalancer) {
    fail(file, 'internet', "must have 'servers', 'clients', 'resolver' and 'loadBalancer'");
  }
  const spec = p.spec as Record<string, unknown>;
  if (!spec.serviceNetwork || !spec.podNetwork || !Array.isArray(spec.networkPolicies)) fail(file, 'spec', "must have 'serviceNetwork', 'podNetwork' and 'networkPolicies'");
}

/**
 * The containers of a plan, in plan order. Checks only what the agent uses,
 * and names the pod and field when something is off.
 */
export function containerTargets(plan: unknown, file = 'plan.json'): ContainerTarget[] {
  const pods: unknown = (plan as Partial<Plan> | null)?.pods;
  if (!Array.isArray(pods)) fail(file, 'top level', "'pods' must be a list");
  const out: ContainerTarget[] = [];
  const seen = new Set<string>();
  (pods as unknown[]).forEach((raw, i) => {
    const where = `pods[${i}]`;
    if (!raw || typeof raw !== 'object') fail(file, where, 'must be an object');
    const p = raw as Record<string, unknown>;
    const namespace = str(file, where, p.namespace, 'namespace');
    const name = str(file, where, p.name, 'name');
    const podKey = typeof p.key === 'string' ? p.key : `${namespace}/${name}`;
    const netns = str(file, `pod ${podKey}`, p.netns, 'netns');
    if (netns.includes('/') || netns === '.' || netns === '..') fail(file, `pod ${podKey}`, `netns '${netns}' must be a plain name`);
    const node = str(file, `pod ${podKey}`, p.node, 'node');
    const podIP = str(file, `pod ${podKey}`, p.ip, 'ip');
    if (!Array.isArray(p.containers)) fail(file, `pod ${podKey}`, "'containers' must be a list");
    for (const c of p.containers as Array<Record<string, unknown>>) {
      const container = str(file, `pod ${podKey}`, c?.name, 'containers[].name');
      const key = `${podKey}/${container}`;
      if (seen.has(key)) fail(file, `pod ${podKey}`, `container '${container}' appears twice`);
      seen.add(key);
      // A container running a lab program (the cluster DNS) owns its ports itself: the test server opens none of them.
      const ports = Array.isArray(c.ports) && c.program === undefined ? (c.ports as Array<Record<string, unknown>>) : [];
      out.push({
        key,
        podKey,
        namespace,
        pod: name,
        container,
        node,
        podIP,
        netns,
        ports: ports.map((port) => {
          const n = port?.containerPort;
          if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
            fail(file, `container ${key}`, `containerPort ${String(n)} must be an integer from 1 to 65535`);
          }
          const protocol = port.protocol ?? 'TCP';
          if (protocol !== 'TCP' && protocol !== 'UDP') fail(file, `container ${key}`, `protocol ${String(protocol)} of port ${n} must be TCP or UDP`);
          return { port: n, protocol };
        }),
      });
    }
  });
  return out;
}

/** Parses plan.json's text; errors name the file. */
export function targetsFromPlanText(text: string, file = 'plan.json'): ContainerTarget[] {
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); rebuild the plan with \`up\``);
  }
  return containerTargets(plan, file);
}

/**
 * What makes two containers the same running thing: everything the agent
 * bound or answers with. Port order does not matter.
 */
export function fingerprint(t: ContainerTarget): string {
  const ports = t.ports.map((p) => `${p.port}/${p.protocol}`).sort();
  return JSON.stringify([t.key, t.netns, t.podIP, t.node, ports]);
}

export interface TargetDiff {
  /** New, or changed (then also in `stop`). */
  start: ContainerTarget[];
  /** Gone, or changed. */
  stop: ContainerTarget[];
  unchanged: ContainerTarget[];
}

export function diffTargets(current: ContainerTarget[], desired: ContainerTarget[]): TargetDiff {
  const now = new Map(current.map((t) => [t.key, t]));
  const want = new Map(desired.map((t) => [t.key, t]));
  const diff: TargetDiff = { start: [], stop: [], unchanged: [] };
  for (const t of current) {
    const next = want.get(t.key);
    if (!next || fingerprint(next) !== fingerprint(t)) diff.stop.push(t);
  }
  for (const t of desired) {
    const prev = now.get(t.key);
    if (prev && fingerprint(prev) === fingerprint(t)) diff.unchanged.push(t);
    else diff.start.push(t);
  }
  return diff;
}

/**
 * The API server stand-in behind `default/kubernetes`: served on its node's
 * own address, in the node's network namespace, as kubeadm runs the API
 * server with host networking.
 */
export function apiServerTargets(plan: Plan): ContainerTarget[] {
  const kubernetes = plan.services.find((s) => s.key === 'default/kubernetes');
  return (kubernetes?.staticEndpoints ?? []).flatMap((ep) => {
    const node = plan.nodes.find((n) => n.name === ep.nodeName);
    if (!node) return [];
    const pod = `kube-apiserver-${node.name}`;
    return [
      {
        key: `kube-system/${pod}/kube-apiserver`,
        podKey: `kube-system/${pod}`,
        namespace: 'kube-system',
        pod,
        container: 'kube-apiserver',
        node: node.name,
        podIP: node.ip,
        netns: node.netns,
        ports: [{ port: ep.port, protocol: 'TCP' as const }],
      },
    ];
  });
}

/**
 * The external servers of `spec.external.servers`, served by the test
 * server in their own namespaces on the internet side: an answer says which
 * server answered and from which address the request came (the node's, for
 * pods, after flannel's ip-masq).
 */
export function externalServerTargets(plan: Plan): ContainerTarget[] {
  return plan.internet.servers.map((s) => ({
    key: `external/${s.name}/server`,
    podKey: `external/${s.name}`,
    namespace: 'external',
    pod: s.name,
    container: 'server',
    node: 'internet',
    podIP: s.ip,
    netns: s.netns,
    ports: s.ports.map((port) => ({ port, protocol: 'TCP' as const })),
  }));
}
