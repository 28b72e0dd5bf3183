/**
 * Checks of the service paths, derived from the plan and the endpoints
 * kube-proxy programs right now (pure):
 *  - P5: every pod reaches every service port by its ClusterIP and gets an
 *    answer from one of its endpoints, with its own pod IP kept; a service
 *    without endpoints refuses at once.
 *  - P6: the answers spread over every endpoint (up to 5) within 30
 *    requests; NodePorts answer on every node, from the external client,
 *    with externalTrafficPolicy deciding the client IP the pod sees.
 *  - P13: ClusterIPs are unreachable from outside; a node IP on port 80
 *    refuses.
 *  - Hairpin: an endpoint reaching itself through its service.
 */
import type { ProxyEndpoint, ProxyNodeInput, ProxyServicePort } from '../model/services.js';
import { servicePortName } from '../model/services.js';
import type { NodePlan, Plan, PodPlan } from '../model/types.js';
import type { Check, Endpoint, Probe } from './checks.js';
import type { PolicyView } from './policy-view.js';
import type { Source, Target } from '../reachability/predict.js';

/** Requests a spread check makes at most; every endpoint of up to 5 answers within them. */
export const SPREAD_TRIES = 30;
const MAX_SPREAD_ENDPOINTS = 5;

const podEnd = (p: PodPlan): Endpoint => ({ netns: p.netns, label: p.key });

interface Views {
  plan: Plan;
  byNode: Map<string, ProxyNodeInput>;
  podsByIP: Map<string, PodPlan>;
  /** Present when NetworkPolicies exist. */
  policy?: PolicyView;
}

/** What the policies make of a connection: `open` (or no policies), `blocked` (every endpoint drops it), `mixed` (kube-proxy's pick decides). */
function policyOutcome(v: Views, src: Source, target: Target, protocol: 'TCP' | 'UDP'): { state: 'open' | 'blocked' | 'mixed'; reason: string } {
  if (!v.policy) return { state: 'open', reason: '' };
  const p = v.policy.predict(src, target, protocol);
  // A prediction without deliveries is about routing or endpoints, which the checks below already expect.
  if (p.deliveries.length === 0 || p.result === 'allowed') return { state: 'open', reason: p.reason };
  return { state: p.result === 'blocked' ? 'blocked' : 'mixed', reason: p.reason };
}

/** The probe a policy drop gives: a TCP connection or UDP request that gets no answer at all within a second. */
export function droppedProbe(from: Endpoint, ip: string, port: number, protocol: 'TCP' | 'UDP'): Probe {
  return { kind: 'connect', from, ip, port, protocol, expect: 'blocked' };
}

/** The pods (by name) that answer for endpoints; a static endpoint is the API server stand-in of its node. */
function podNames(v: Views, eps: ProxyEndpoint[]): string[] {
  return eps.map((e) => v.podsByIP.get(e.ip)?.name ?? `kube-apiserver-${e.nodeName}`);
}

/**
 * The client IP an endpoint sees for a request from `client` through a
 * ClusterIP. Pod endpoints see the pod IP. A static endpoint (the API
 * server stand-in, at its node's IP) on another node sees the client's
 * node IP: the packet leaves the pod CIDR for a node address, and flannel's
 * ip-masq masquerades it, as on a real cluster. Undefined when the
 * endpoints disagree, so no single address can be expected.
 */
function expectedClientIP(v: Views, client: PodPlan, eps: ProxyEndpoint[]): string | undefined {
  const seen = new Set(
    eps.map((e) => {
      if (v.podsByIP.has(e.ip) || e.nodeName === client.node) return client.ip;
      return v.plan.nodes.find((n) => n.name === client.node)?.ip ?? client.ip;
    }),
  );
  return seen.size === 1 ? [...seen][0] : undefined;
}

function label(sp: ProxyServicePort): string {
  return `${servicePortName(sp)} (${sp.clusterIP}:${sp.port}/${sp.protocol})`;
}

/** From each pod to each service port by ClusterIP, as kube-proxy on the client's node decides. */
function clusterIPChecks(v: Views): Check[] {
  const checks: Check[] = [];
  for (const client of v.plan.pods) {
    const view = v.byNode.get(client.node);
    if (!view) continue;
    for (const sp of view.services) {
      const eps = sp.internalPolicyLocal ? sp.endpoints.filter((e) => e.isLocal) : sp.endpoints;
      const what = `P5 pod ${client.key} -> service ${label(sp)}`;
      const policy = policyOutcome(v, { kind: 'pod', pod: client }, { kind: 'service', sp }, sp.protocol);
      if (policy.state === 'mixed') continue;
      if (policy.state === 'blocked') {
        if (sp.protocol === 'UDP' && client !== v.plan.pods[0]) continue;
        checks.push({ path: 'P5', name: `${what} is dropped by NetworkPolicy: ${policy.reason}`, probes: [droppedProbe(podEnd(client), sp.clusterIP, sp.port, sp.protocol)] });
        continue;
      }
      if (sp.protocol === 'UDP') {
        if (client !== v.plan.pods[0]) continue; // echo cannot tell endpoints apart: once is enough
        checks.push(
          eps.length
            ? { path: 'P5', name: `${what} echoes through kube-proxy`, probes: [{ kind: 'udp-echo', from: podEnd(client), ip: sp.clusterIP, port: sp.port }] }
            : { path: 'P5', name: `${what} has no endpoints: no echo`, probes: [{ kind: 'udp-silent', from: podEnd(client), ip: sp.clusterIP, port: sp.port }] },
        );
        continue;
      }
      if (sp.endpoints.length === 0) {
        checks.push({ path: 'P5', name: `${what} has no endpoints: refused at once (REJECT)`, probes: [{ kind: 'refused', from: podEnd(client), ip: sp.clusterIP, port: sp.port }] });
      } else if (eps.length === 0) {
        checks.push({ path: 'P5', name: `${what}: internalTrafficPolicy Local, no endpoint on ${client.node}: dropped`, probes: [{ kind: 'dropped', from: podEnd(client), ip: sp.clusterIP, port: sp.port }] });
      } else {
        const seen = expectedClientIP(v, client, eps);
        const source = seen === client.ip ? 'source IP kept' : seen ? `source masqueraded to node IP ${seen} (ip-masq)` : 'source IP not checked';
        checks.push({
          path: 'P5',
          name: `${what} answered by an endpoint${sp.internalPolicyLocal ? ` on ${client.node} (internalTrafficPolicy Local)` : ''}, ${source}`,
          probes: [
            {
              kind: 'service',
              from: podEnd(client),
              ip: sp.clusterIP,
              port: sp.port,
              tries: 1,
              allowed: podNames(v, eps),
              mustSee: [],
              ...(seen ? { clientIP: { equals: seen, unlessFrom: client.name } } : {}),
            },
          ],
        });
      }
    }
  }
  return checks;
}

/** Random load balancing reaches every endpoint, from the first pod that is not one of them. */
function spreadChecks(v: Views): Check[] {
  const checks: Check[] = [];
  const first = v.byNode.values().next().value as ProxyNodeInput | undefined;
  for (const sp of first?.services ?? []) {
    if (sp.protocol !== 'TCP' || sp.internalPolicyLocal || sp.affinityTimeoutSeconds) continue;
    const n = sp.endpoints.length;
    if (n < 2 || n > MAX_SPREAD_ENDPOINTS) continue;
    const ips = new Set(sp.endpoints.map((e) => e.ip));
    const client = v.plan.pods.find((p) => !ips.has(p.ip) && policyOutcome(v, { kind: 'pod', pod: p }, { kind: 'service', sp }, sp.protocol).state === 'open');
    if (!client) continue;
    const names = podNames(v, sp.endpoints);
    checks.push({
      path: 'P6',
      name: `P6 service ${label(sp)}: all ${n} endpoints answer within ${SPREAD_TRIES} requests from ${client.key}`,
      probes: [{ kind: 'service', from: podEnd(client), ip: sp.clusterIP, port: sp.port, tries: SPREAD_TRIES, allowed: names, mustSee: names }],
    });
  }
  return checks;
}

/** ClientIP affinity: every request from one pod lands on the same endpoint. */
function affinityChecks(v: Views): Check[] {
  const first = v.byNode.values().next().value as ProxyNodeInput | undefined;
  return (first?.services ?? [])
    .filter((sp) => sp.protocol === 'TCP' && sp.affinityTimeoutSeconds && sp.endpoints.length > 1 && !sp.internalPolicyLocal)
    .flatMap((sp): Check[] => {
      const ips = new Set(sp.endpoints.map((e) => e.ip));
      const client = v.plan.pods.find((p) => !ips.has(p.ip) && policyOutcome(v, { kind: 'pod', pod: p }, { kind: 'service', sp }, sp.protocol).state === 'open');
      if (!client) return [];
      return [
        {
          path: 'P6',
          name: `P6 service ${label(sp)}: sessionAffinity ClientIP keeps ${client.key} on one endpoint for 10 requests`,
          probes: [{ kind: 'service', from: podEnd(client), ip: sp.clusterIP, port: sp.port, tries: 10, allowed: podNames(v, sp.endpoints), mustSee: [], sameEndpoint: true }],
        },
      ];
    });
}

/** A pod behind a service reaches itself through it; the hairpin is masqueraded to its node's bridge address. */
function hairpinChecks(v: Views): Check[] {
  const first = v.byNode.values().next().value as ProxyNodeInput | undefined;
  const checks: Check[] = [];
  for (const sp of first?.services ?? []) {
    if (sp.protocol !== 'TCP' || sp.affinityTimeoutSeconds || sp.internalPolicyLocal) continue;
    const self = sp.endpoints
      .map((e) => v.podsByIP.get(e.ip))
      .find((p): p is PodPlan => p !== undefined && policyOutcome(v, { kind: 'pod', pod: p }, { kind: 'service', sp }, sp.protocol).state === 'open');
    // With at most 3 endpoints, 30 tries miss the pod itself with odds below 1e-5.
    if (!self || sp.endpoints.length > 3) continue;
    const gateway = v.plan.nodes.find((n) => n.name === self.node)!.gateway;
    checks.push({
      path: 'P5',
      name: `P5 hairpin: pod ${self.key} reaches itself through ${label(sp)}, masqueraded to ${gateway} (cbr0)`,
      probes: [
        {
          kind: 'service',
          from: podEnd(self),
          ip: sp.clusterIP,
          port: sp.port,
          tries: SPREAD_TRIES,
          allowed: podNames(v, sp.endpoints),
          mustSee: [self.name],
          clientIP: { equals: gateway, onlyFrom: self.name },
        },
      ],
    });
    break; // one hairpin proves the bridge port and the masquerade rule
  }
  return checks;
}

function nodeEnd(n: NodePlan): Endpoint {
  return { netns: n.netns, label: `node/${n.name}` };
}

/** NodePorts from the external client to every node, and from every node to itself. */
function nodePortChecks(v: Views): Check[] {
  const checks: Check[] = [];
  const client = v.plan.internet.clients[0];
  // One health check per node and port: every port of a service shares it.
  const healthSeen = new Set<string>();
  for (const node of v.plan.nodes) {
    const view = v.byNode.get(node.name);
    for (const sp of view?.services ?? []) {
      if (!sp.nodePort || sp.protocol !== 'TCP') continue;
      const local = sp.endpoints.filter((e) => e.isLocal);
      const what = `service ${label(sp)} NodePort ${node.ip}:${sp.nodePort}`;
      const fromNode = policyOutcome(v, { kind: 'node', node }, { kind: 'node-port', node, sp }, sp.protocol);
      if (fromNode.state === 'blocked') {
        checks.push({ path: 'P6', name: `P6 node/${node.name} -> ${what} (from the node itself) is dropped by NetworkPolicy: ${fromNode.reason}`, probes: [droppedProbe(nodeEnd(node), node.ip, sp.nodePort, sp.protocol)] });
      } else if (fromNode.state === 'open') {
        checks.push({
          path: 'P6',
          name: `P6 node/${node.name} -> ${what} (from the node itself)`,
          probes: [
            sp.endpoints.length
              ? { kind: 'service', from: nodeEnd(node), ip: node.ip, port: sp.nodePort, tries: 1, allowed: podNames(v, sp.endpoints), mustSee: [] }
              : { kind: 'refused', from: nodeEnd(node), ip: node.ip, port: sp.nodePort },
          ],
        });
      }
      if (!client) continue;
      const ext: Endpoint = { netns: client.netns, label: client.name };
      const fromOutside = policyOutcome(v, { kind: 'external', client }, { kind: 'node-port', node, sp }, sp.protocol);
      if (sp.healthCheckNodePort && sp.externalPolicyLocal && !healthSeen.has(`${node.name}/${sp.healthCheckNodePort}`)) {
        healthSeen.add(`${node.name}/${sp.healthCheckNodePort}`);
        const n = new Set(local.map((e) => e.ip)).size;
        checks.push({
          path: 'P6',
          name: `P6 external -> service ${servicePortName(sp)} health check ${node.ip}:${sp.healthCheckNodePort}: ${n ? `200, ${n} local endpoint(s)` : '503, no local endpoint'} on ${node.name}`,
          probes: [{ kind: 'http-status', from: ext, ip: node.ip, port: sp.healthCheckNodePort, status: n ? 200 : 503, body: `"localEndpoints":${n}` }],
        });
      }
      if (sp.endpoints.length === 0) {
        checks.push({ path: 'P6', name: `P6 external -> ${what}: no endpoints, refused`, probes: [{ kind: 'refused', from: ext, ip: node.ip, port: sp.nodePort }] });
      } else if (fromOutside.state === 'mixed') {
        continue;
      } else if (fromOutside.state === 'blocked') {
        checks.push({ path: 'P6', name: `P6 external -> ${what} is dropped by NetworkPolicy: ${fromOutside.reason}`, probes: [droppedProbe(ext, node.ip, sp.nodePort, sp.protocol)] });
      } else if (!sp.externalPolicyLocal) {
        checks.push({
          path: 'P6',
          name: `P6 external -> ${what}: externalTrafficPolicy Cluster, source NATed to the node`,
          probes: [{ kind: 'service', from: ext, ip: node.ip, port: sp.nodePort, tries: 1, allowed: podNames(v, sp.endpoints), mustSee: [], clientIP: { not: client.ip } }],
        });
      } else if (local.length) {
        checks.push({
          path: 'P6',
          name: `P6 external -> ${what}: externalTrafficPolicy Local, answered on ${node.name}, client IP ${client.ip} kept`,
          probes: [{ kind: 'service', from: ext, ip: node.ip, port: sp.nodePort, tries: 1, allowed: podNames(v, local), mustSee: [], clientIP: { equals: client.ip } }],
        });
      } else {
        checks.push({
          path: 'P6',
          name: `P6 external -> ${what}: externalTrafficPolicy Local, no endpoint on ${node.name}: dropped`,
          probes: [{ kind: 'dropped', from: ext, ip: node.ip, port: sp.nodePort }],
        });
      }
    }
  }
  return checks;
}

/** From outside: ClusterIPs are not routed; a node refuses port 80 (nothing listens, no NodePort can be 80). */
function outsideChecks(v: Views): Check[] {
  const client = v.plan.internet.clients[0];
  if (!client) return [];
  const ext: Endpoint = { netns: client.netns, label: client.name };
  const checks: Check[] = v.plan.nodes.map((n) => ({
    path: 'P13' as const,
    name: `P13 external -> node/${n.name} ${n.ip}:80 is refused: no NodePort is 80 (NodePorts are 30000-32767)`,
    probes: [{ kind: 'refused' as const, from: ext, ip: n.ip, port: 80 }],
  }));
  const first = v.byNode.values().next().value as ProxyNodeInput | undefined;
  const sp = first?.services.find((s) => s.protocol === 'TCP' && s.endpoints.length > 0);
  if (sp) {
    checks.push({
      path: 'P13',
      name: `P13 external -> service ${label(sp)} is unreachable: the service CIDR is not routed outside the cluster`,
      probes: [{ kind: 'unreachable', from: ext, ip: sp.clusterIP, port: sp.port }],
    });
  }
  return checks;
}

/**
 * Services whose endpoints run a program of their own rather than the test
 * server (the cluster DNS behind kube-dns) cannot answer these probes'
 * HTTP and echo requests; the DNS checks (P10) cover them with real queries
 * through the same ClusterIP. Without ready endpoints such a service is
 * checked like any other: it refuses at once.
 */
function testServerInputs(plan: Plan, inputs: ProxyNodeInput[]): ProxyNodeInput[] {
  // hostNetwork endpoints answer from the node's address, so these probes' client-IP expectations do not hold; P9 covers them.
  const skipped = new Set(
    plan.pods.filter((p) => p.hostNetwork || p.containers.some((c) => c.program)).flatMap((p) => p.containers.flatMap((c) => c.ports.map((port) => `${p.ip}:${port.containerPort}`))),
  );
  return inputs.map((i) => ({ ...i, services: i.services.filter((sp) => !sp.endpoints.some((e) => skipped.has(`${e.ip}:${e.port}`))) }));
}

/** `plan` holds the client pods (those with a namespace of their own); `allPods` every pod, to know which endpoints run the test server. */
export function serviceChecks(plan: Plan, all: ProxyNodeInput[], allPods: PodPlan[] = plan.pods, policy?: PolicyView): Check[] {
  const inputs = testServerInputs({ ...plan, pods: allPods }, all);
  const v: Views = { plan, byNode: new Map(inputs.map((i) => [i.node, i])), podsByIP: new Map(plan.pods.map((p) => [p.ip, p])), ...(policy ? { policy } : {}) };
  return [...clusterIPChecks(v), ...spreadChecks(v), ...affinityChecks(v), ...hairpinChecks(v), ...nodePortChecks(v), ...outsideChecks(v)];
}
