/**
 * What a connection should do, from the plan alone (pure): where the packet
 * is delivered (the pod, or each endpoint kube-proxy may pick behind a
 * ClusterIP, NodePort or load-balancer IP), with which source address the
 * endpoint's node sees it (client, pod, or a node after masquerade), and
 * what the policy engine says of each delivery. One prediction serves the
 * ReachabilityTest cells and every `verify` check that must hold under
 * policies.
 */
import { inCidr } from '../util/addresses.js';
import { hostSourceToward, podParty, type Decision, type Party, type PolicyEngine, type Protocol } from '../components/network-policy/engine.js';
import { nodeSourceAddress } from '../components/pod-network/plan.js';
import type { ProxyEndpoint, ProxyNodeInput, ProxyServicePort } from '../model/services.js';
import type { ExternalHostPlan, NodePlan, Plan, PodPlan } from '../model/types.js';

/** Who connects: a pod (hostNetwork ones from their node), a node itself, or a client on the internet side. */
export type Source = { kind: 'pod'; pod: PodPlan } | { kind: 'node'; node: NodePlan } | { kind: 'external'; client: ExternalHostPlan };

/** Where to: a pod's own address (its node's for hostNetwork), or an address kube-proxy or the load balancer translates. */
export type Target =
  | { kind: 'pod'; pod: PodPlan; port: number }
  | { kind: 'service'; sp: ProxyServicePort }
  | { kind: 'node-port'; node: NodePlan; sp: ProxyServicePort }
  | { kind: 'load-balancer'; ip: string; sp: ProxyServicePort; sourceRanges: string[] };

export type Predicted = 'allowed' | 'blocked' | 'unknown';

export interface Delivery {
  /** The pod that gets the packet, when it is a pod (not the API server stand-in). */
  endpoint?: PodPlan;
  label: string;
  decision: Decision;
}

export interface Prediction {
  result: Predicted;
  reason: string;
  deliveries: Delivery[];
}

export interface World {
  plan: Plan;
  engine: PolicyEngine;
  /** kube-proxy's view of each node, by node name. */
  proxy: Map<string, ProxyNodeInput>;
}

export function makeWorld(plan: Plan, engine: PolicyEngine, proxy: ProxyNodeInput[]): World {
  return { plan, engine, proxy: new Map(proxy.map((p) => [p.node, p])) };
}

export const sourceLabel = (s: Source): string => (s.kind === 'pod' ? s.pod.key : s.kind === 'node' ? `node/${s.node.name}` : s.client.name);

function nodeOf(world: World, name: string): NodePlan {
  return world.plan.nodes.find((n) => n.name === name)!;
}

/** The node a source's packets start on, when it is in the cluster. */
function sourceNode(world: World, s: Source): NodePlan | undefined {
  return s.kind === 'pod' ? nodeOf(world, s.pod.node) : s.kind === 'node' ? s.node : undefined;
}

/** The source as the destination's node sees it, when nothing rewrites it on the way. */
function sourceParty(world: World, s: Source, dst: PodPlan | undefined): Party {
  if (s.kind === 'pod' && !s.pod.hostNetwork) return { kind: 'pod', pod: s.pod };
  if (s.kind === 'external') return { kind: 'host', ip: s.client.ip, label: s.client.name };
  const node = sourceNode(world, s)!;
  const label = sourceLabel(s);
  if (dst && !dst.hostNetwork) return hostSourceToward(world.plan, node, dst, label);
  return { kind: 'host', ip: node.ip, node: node.name, label };
}

function endpointParty(world: World, ep: ProxyEndpoint): { party: Party; pod?: PodPlan } {
  const party = world.engine.partyAt(ep.ip);
  return party.kind === 'pod' ? { party, pod: party.pod } : { party: world.plan.pods.find((p) => p.hostNetwork && p.ip === ep.ip) ? { ...party, label: `${ep.ip} (hostNetwork)` } : party };
}

function deliver(world: World, src: Party, ep: ProxyEndpoint, protocol: Protocol, viaNode?: string): Delivery {
  const { party, pod } = endpointParty(world, ep);
  const decision = world.engine.decide(src, party, ep.port, protocol);
  const label = `${pod?.key ?? ep.ip}:${ep.port}${viaNode ? ` via ${viaNode}` : ''}`;
  return { ...(pod ? { endpoint: pod } : {}), label, decision };
}

/** Endpoints of a NodePort or load-balancer port reached on `node`, with the source the endpoint's node sees. */
function externalDeliveries(world: World, client: Party, node: NodePlan, sp: ProxyServicePort, protocol: Protocol): Delivery[] {
  const view = world.proxy.get(node.name)?.services.find((x) => sameSp(x, sp)) ?? sp;
  // The node's own connections to its node port are treated as Cluster traffic (masqueraded), whatever the policy.
  const local = view.externalPolicyLocal && client.kind === 'host' && client.node !== node.name;
  const eps = local ? view.endpoints.filter((e) => e.nodeName === node.name) : view.endpoints;
  return eps.map((ep) => {
    // Cluster policy masquerades what leaves the node: the endpoint's node sees this node's address toward it.
    const masqueraded = !local && ep.nodeName !== node.name;
    const src: Party = masqueraded ? { kind: 'host', ip: nodeSourceAddress(world.plan.spec.podNetwork.backend, node), node: node.name, label: `node/${node.name} (masquerade)` } : client;
    return deliver(world, src, ep, protocol, node.name);
  });
}

const sameSp = (a: ProxyServicePort, b: ProxyServicePort) => a.namespace === b.namespace && a.service === b.service && a.port === b.port && a.protocol === b.protocol;

function verdict(deliveries: Delivery[], none: string): Prediction {
  if (deliveries.length === 0) return { result: 'blocked', reason: none, deliveries };
  const allowed = deliveries.filter((d) => d.decision.allowed);
  if (allowed.length === deliveries.length) return { result: 'allowed', reason: deliveries.length === 1 ? deliveries[0]!.decision.reason : `every endpoint admits it: ${deliveries.map((d) => d.label).join(', ')}`, deliveries };
  if (allowed.length === 0) return { result: 'blocked', reason: deliveries.length === 1 ? deliveries[0]!.decision.reason : `${deliveries[0]!.decision.reason} (likewise at every endpoint: ${deliveries.map((d) => d.label).join(', ')})`, deliveries };
  const blocked = deliveries.filter((d) => !d.decision.allowed);
  return {
    result: 'unknown',
    reason: `the endpoints disagree, so the answer depends on which one kube-proxy picks: ${allowed.map((d) => d.label).join(', ')} allowed; ${blocked.map((d) => `${d.label} blocked (${d.decision.reason})`).join('; ')}`,
    deliveries,
  };
}

const unreachable = (reason: string): Prediction => ({ result: 'blocked', reason, deliveries: [] });

export function predict(world: World, src: Source, target: Target, protocol: Protocol): Prediction {
  const { engine } = world;
  if (target.kind === 'pod') {
    const dst = target.pod;
    if (src.kind === 'external' && !dst.hostNetwork) return unreachable(`pod IPs are not routed outside the cluster (P13): ${src.client.name} cannot reach ${dst.ip}`);
    const decision = engine.decide(sourceParty(world, src, dst), podParty(dst), target.port, protocol);
    return verdict([{ endpoint: dst, label: `${dst.key}:${target.port}`, decision }], '');
  }
  const sp = target.sp;
  if (target.kind === 'service') {
    const node = sourceNode(world, src);
    if (!node) return unreachable(`ClusterIPs are not routed outside the cluster: ${sourceLabel(src)} cannot reach ${sp.clusterIP}`);
    const view = world.proxy.get(node.name)?.services.find((x) => sameSp(x, sp)) ?? sp;
    if (view.endpoints.length === 0) return unreachable(`${sp.namespace}/${sp.service} has no endpoints: kube-proxy rejects the connection`);
    const eps = view.internalPolicyLocal ? view.endpoints.filter((e) => e.nodeName === node.name) : view.endpoints;
    const deliveries = eps.map((ep) => {
      const { pod } = endpointParty(world, ep);
      // A pod reaching itself through its Service is hairpinned back to itself: its own traffic.
      const from = src.kind === 'pod' && pod?.key === src.pod.key ? ({ kind: 'pod', pod } as Party) : sourceParty(world, src, pod);
      return deliver(world, from, ep, protocol);
    });
    return verdict(deliveries, `internalTrafficPolicy Local and no endpoint on ${node.name}: kube-proxy drops it`);
  }
  const client: Party =
    src.kind === 'external' ? { kind: 'host', ip: src.client.ip, label: src.client.name } : { kind: 'host', ip: sourceNode(world, src)!.ip, node: sourceNode(world, src)!.name, label: sourceLabel(src) };
  if (target.kind === 'node-port') {
    if (target.sp.endpoints.length === 0) return unreachable(`${sp.namespace}/${sp.service} has no endpoints: the node port refuses`);
    return verdict(externalDeliveries(world, client, target.node, sp, protocol), `externalTrafficPolicy Local and no endpoint on ${target.node.name}: dropped`);
  }
  if (src.kind === 'external' && target.sourceRanges.length && !target.sourceRanges.some((r) => inCidr(src.client.ip, r))) {
    return unreachable(`${src.client.ip} is outside loadBalancerSourceRanges ${target.sourceRanges.join(', ')}: the load balancer drops it`);
  }
  if (sp.endpoints.length === 0) return unreachable(`${sp.namespace}/${sp.service} has no endpoints`);
  // The load balancer sends to the nodes that pass its health check: with Local, those running an endpoint.
  const nodes = sp.externalPolicyLocal ? world.plan.nodes.filter((n) => sp.endpoints.some((e) => e.nodeName === n.name)) : world.plan.nodes;
  return verdict(nodes.flatMap((n) => externalDeliveries(world, client, n, sp, protocol)), 'no node to send to');
}
