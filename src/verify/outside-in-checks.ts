/**
 * The paths from and to the internet side (pure, from the plan and the
 * endpoints kube-proxy programs now):
 *  - P7: every load-balancer IP and port from the external client, through
 *    the cloud load balancer to a node port and a pod; with
 *    externalTrafficPolicy Local the pod sees the client's own address;
 *    a client outside loadBalancerSourceRanges is dropped.
 *  - P9: a hostPort answers on its pod's node only (DNAT, client address
 *    kept) and is refused on the others; a hostNetwork pod answers on its
 *    node's address.
 *  - P12: pods reach the external servers with their node's address (ip-masq).
 */
import { inCidr } from '../util/addresses.js';
import type { ProxyNodeInput, ProxyServicePort } from '../model/services.js';
import { servicePortName } from '../model/services.js';
import type { Plan, PodPlan } from '../model/types.js';
import type { Check, Endpoint } from './checks.js';
import type { PolicyView } from './policy-view.js';
import { podParty } from '../components/network-policy/engine.js';
import { droppedProbe } from './service-checks.js';

const podEnd = (p: PodPlan): Endpoint => ({ netns: p.netns, label: p.key });
/** New connections per LB check: with up to 3 endpoints, every one is seen with odds above 99.9%. */
const TRIES = 20;

function inRanges(ip: string, ranges: string[]): boolean {
  if (ranges.length === 0) return true;
  return ranges.some((r) => inCidr(ip, r));
}

function testServerPods(plan: Plan): Map<string, PodPlan> {
  return new Map(plan.pods.filter((p) => !p.hostNetwork && !p.containers.some((c) => c.program)).map((p) => [p.ip, p]));
}

function loadBalancerChecks(plan: Plan, proxy: ProxyNodeInput[], policy?: PolicyView): Check[] {
  const client = plan.internet.clients[0];
  if (!client) return [];
  const ext: Endpoint = { netns: client.netns, label: client.name };
  const pods = testServerPods(plan);
  const checks: Check[] = [];
  // Every node has the same endpoints; the first node's view lists them once.
  for (const sp of proxy[0]?.services ?? []) {
    const svc = plan.services.find((s) => s.namespace === sp.namespace && s.name === sp.service);
    const ip = svc?.loadBalancerIP;
    const port = svc?.ports.find((p) => p.port === sp.port && p.protocol === sp.protocol);
    if (!svc || !ip || sp.protocol !== 'TCP' || port?.nodePort === undefined) continue;
    const names = sp.endpoints.map((e) => pods.get(e.ip)?.name);
    if (names.some((n) => n === undefined)) continue; // endpoints that run no test server (DNS, hostNetwork)
    const what = `P7 external -> load balancer ${ip}:${sp.port} -> service ${servicePortName(sp)}`;
    if (!inRanges(client.ip, svc.loadBalancerSourceRanges ?? [])) {
      checks.push({ path: 'P7', name: `${what}: ${client.ip} is outside loadBalancerSourceRanges ${svc.loadBalancerSourceRanges!.join(', ')}, dropped`, probes: [{ kind: 'dropped', from: ext, ip, port: sp.port }] });
    } else if (sp.endpoints.length === 0) {
      checks.push({ path: 'P7', name: `${what}: no endpoints, refused by every node`, probes: [{ kind: 'refused', from: ext, ip, port: sp.port }] });
    } else if (policy) {
      const p = policy.predict({ kind: 'external', client }, { kind: 'load-balancer', ip, sp, sourceRanges: svc.loadBalancerSourceRanges ?? [] }, 'TCP');
      // Endpoints the policies treat differently: which one answers is kube-proxy's pick, so nothing exact can be expected.
      if (p.result === 'blocked') checks.push({ path: 'P7', name: `${what}: dropped by NetworkPolicy: ${p.reason}`, probes: [droppedProbe(ext, ip, sp.port, 'TCP')] });
      else if (p.result === 'allowed') checks.push({ path: 'P7', name: `${what}: ${lbExpectation(sp)}`, probes: [lbProbe(ext, ip, sp, names as string[], client.ip)] });
    } else {
      checks.push({ path: 'P7', name: `${what}: ${lbExpectation(sp)}`, probes: [lbProbe(ext, ip, sp, names as string[], client.ip)] });
    }
  }
  return checks;
}

function lbExpectation(sp: ProxyServicePort): string {
  return sp.externalPolicyLocal
    ? `externalTrafficPolicy Local, only nodes with an endpoint are sent to, every endpoint answers, the client IP is kept`
    : `every endpoint answers, source NATed by the node (externalTrafficPolicy Cluster)`;
}

function lbProbe(ext: Endpoint, ip: string, sp: ProxyServicePort, names: string[], clientIP: string) {
  return {
    kind: 'service' as const,
    from: ext,
    ip,
    port: sp.port,
    tries: TRIES,
    allowed: names,
    mustSee: names.slice(0, 3),
    clientIP: sp.externalPolicyLocal ? { equals: clientIP } : { not: clientIP },
  };
}

function hostChecks(plan: Plan, policy?: PolicyView): Check[] {
  const client = plan.internet.clients[0];
  if (!client) return [];
  const ext: Endpoint = { netns: client.netns, label: client.name };
  const checks: Check[] = [];
  for (const pod of plan.pods) {
    for (const c of pod.containers) {
      if (c.program) continue;
      for (const p of c.ports) {
        if (p.protocol !== 'TCP') continue;
        const node = plan.nodes.find((n) => n.name === pod.node)!;
        if (pod.hostNetwork) {
          checks.push({
            path: 'P9',
            name: `P9 external -> hostNetwork pod ${pod.key} on ${node.name} at ${node.ip}:${p.containerPort}: served in the node's namespace, pod IP = node IP`,
            probes: [{ kind: 'http', from: ext, ip: node.ip, port: p.containerPort, expect: { pod: pod.name, container: c.name, clientIP: client.ip } }],
          });
        } else if (p.hostPort !== undefined) {
          // The DNAT keeps the client's address, so the pod's ingress policies judge the client itself.
          const d = policy?.engine.decide({ kind: 'host', ip: client.ip, label: client.name }, podParty(pod), p.containerPort, 'TCP');
          checks.push(
            d && !d.allowed
              ? { path: 'P9', name: `P9 external -> hostPort ${node.ip}:${p.hostPort} -> pod ${pod.key}:${p.containerPort} is dropped by NetworkPolicy: ${d.reason}`, probes: [droppedProbe(ext, node.ip, p.hostPort, 'TCP')] }
              : {
                  path: 'P9',
                  name: `P9 external -> hostPort ${node.ip}:${p.hostPort} -> pod ${pod.key}:${p.containerPort} (DNAT on ${node.name}, client IP kept)`,
                  probes: [{ kind: 'http', from: ext, ip: node.ip, port: p.hostPort, expect: { pod: pod.name, container: c.name, clientIP: client.ip } }],
                },
          );
          for (const other of plan.nodes.filter((n) => n.name !== node.name)) {
            // Unless another pod holds the same host port there.
            const taken = plan.pods.some((q) => q.node === other.name && q.containers.some((qc) => qc.ports.some((qp) => (q.hostNetwork ? qp.containerPort : qp.hostPort) === p.hostPort)));
            if (taken) continue;
            checks.push({
              path: 'P9',
              name: `P9 external -> ${other.ip}:${p.hostPort} on ${other.name} is refused: hostPort ${p.hostPort} of ${pod.key} exists only on ${node.name}`,
              probes: [{ kind: 'refused', from: ext, ip: other.ip, port: p.hostPort }],
            });
          }
        }
      }
    }
  }
  return checks;
}

/**
 * One pod per node (the first with its own namespace, under policies the
 * first they let out) to every external server port: the server sees the
 * node IP; a node whose pods may not reach the server shows the drop.
 */
function egressChecks(plan: Plan, policy?: PolicyView): Check[] {
  const checks: Check[] = [];
  for (const node of plan.nodes) {
    const pods = plan.pods.filter((p) => p.node === node.name && !p.hostNetwork);
    if (!pods.length) continue;
    for (const server of plan.internet.servers) {
      for (const port of server.ports) {
        const decide = (p: typeof pods[number]) => policy?.engine.decide(podParty(p), policy.engine.partyAt(server.ip, server.name), port, 'TCP');
        const pod = pods.find((p) => decide(p)?.allowed !== false);
        if (!pod) {
          const first = pods[0]!;
          checks.push({
            path: 'P12',
            name: `P12 pod ${first.key} (${node.name}) -> external server ${server.name} ${server.ip}:${port} is dropped by NetworkPolicy: ${decide(first)!.reason}`,
            probes: [droppedProbe(podEnd(first), server.ip, port, 'TCP')],
          });
          continue;
        }
        checks.push({
          path: 'P12',
          name: `P12 pod ${pod.key} (${node.name}) -> external server ${server.name} ${server.ip}:${port}: leaves with the node IP ${node.ip} (ip-masq)`,
          probes: [{ kind: 'http', from: podEnd(pod), ip: server.ip, port, expect: { pod: server.name, clientIP: node.ip } }],
        });
      }
    }
  }
  return checks;
}

export function outsideInChecks(plan: Plan, proxy: ProxyNodeInput[], policy?: PolicyView): Check[] {
  return [...loadBalancerChecks(plan, proxy, policy), ...hostChecks(plan, policy), ...egressChecks(plan, policy)];
}
