/**
 * The NetworkPolicy engine: for any source, destination, port and protocol,
 * whether a connection is allowed and which policy and rule decided it.
 * Pure; the reference the kernel rules (compile.ts) and `verify` are held to.
 *
 * Semantics (Kubernetes networking/v1, as upstream implementations agree):
 *  - a pod is isolated for a direction when a policy of its namespace
 *    selects it and has that direction in policyTypes; an isolated pod
 *    admits only what some rule of those policies allows (rules only add);
 *  - a connection needs the source's egress and the destination's ingress;
 *  - a rule matches when a peer matches (none: every peer) and a port
 *    matches (none: every port and protocol); named ports resolve against
 *    the destination pod's container ports, name and protocol both;
 *  - exceptions: a pod's traffic to itself, traffic between a pod and its
 *    own node, and hostNetwork pods (never selected: they are their node).
 * Protocols without ports (ICMP) match only rules that list no ports.
 */
import { nodeSourceAddress, vtepAddress } from '../pod-network/plan.js';
import type { NodePlan, Plan, PodPlan } from '../../model/types.js';
import { inBlock } from './ip-blocks.js';
import { matchesSelector } from './selectors.js';
import { NAMESPACE_NAME_LABEL, policyKey, type NetworkPolicySpec, type PolicyPeerSpec, type PolicyPortSpec, type PolicyProtocol, type PolicyRuleSpec } from '../../spec/network-policy.js';

export type Protocol = PolicyProtocol | 'ICMP';
export type Direction = 'ingress' | 'egress';

/** One end of a connection, as the node that polices it sees the packet. */
export type Party =
  /** A pod with its own network namespace (hostNetwork pods are `host` parties at their node's address). */
  | { kind: 'pod'; pod: PodPlan }
  /** Any other address; `node` when it is one of that node's addresses. */
  | { kind: 'host'; ip: string; node?: string; label: string };

export interface RuleRef {
  /** `<namespace>/<name>` of the policy. */
  policy: string;
  /** `ingress[0].from[1]`, or `ingress[0]` for a rule that admits every peer. */
  rule: string;
}

export interface DirectionVerdict {
  direction: Direction;
  allowed: boolean;
  /** The policies isolating the pod in this direction; empty when it is not isolated or not policed. */
  isolatedBy: string[];
  /** The first rule that allows the connection, when a policy had to. */
  allowedBy?: RuleRef;
  /** One sentence: why. */
  reason: string;
}

export interface Decision {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  /** The deciding direction's reason when blocked; both when allowed. */
  reason: string;
}

export const ruleName = (direction: Direction, rule: number, peer?: number): string =>
  `${direction}[${rule}]${peer === undefined ? '' : `.${direction === 'ingress' ? 'from' : 'to'}[${peer}]`}`;

export function describePort(port: number | undefined, protocol: Protocol): string {
  return protocol === 'ICMP' ? 'ICMP' : port === undefined ? `any ${protocol} port` : `${port}/${protocol}`;
}

/** A rule's port as written: `80/TCP`, `79-80/TCP`, `http/TCP`, `any UDP port`. */
export function describePolicyPort(p: PolicyPortSpec): string {
  if (p.port === undefined) return `any ${p.protocol} port`;
  return `${p.port}${p.endPort !== undefined ? `-${p.endPort}` : ''}/${p.protocol}`;
}

export function partyLabel(p: Party): string {
  return p.kind === 'pod' ? p.pod.key : p.label;
}

/** The container port called `name` with `protocol` on `pod`. */
export function namedPort(pod: PodPlan, name: string, protocol: PolicyProtocol): number | undefined {
  for (const c of pod.containers) for (const p of c.ports) if (p.name === name && p.protocol === protocol) return p.containerPort;
  return undefined;
}

export function portMatches(p: PolicyPortSpec, dst: PodPlan | undefined, port: number | undefined, protocol: Protocol): boolean {
  if (protocol === 'ICMP' || p.protocol !== protocol) return false;
  if (p.port === undefined) return true;
  if (port === undefined) return false;
  if (typeof p.port === 'number') return p.endPort === undefined ? port === p.port : port >= p.port && port <= p.endPort;
  return dst !== undefined && namedPort(dst, p.port, p.protocol) === port;
}

export interface EngineInput {
  policies: NetworkPolicySpec[];
  pods: PodPlan[];
  /** Labels of declared namespaces (the automatic name label is added here). */
  namespaceLabels: Record<string, Record<string, string>>;
  nodes: NodePlan[];
  /** Addresses of a node other than its IP (cbr0, tunnel device), by address. */
  nodeAddresses?: Map<string, string>;
}

export class PolicyEngine {
  readonly policies: NetworkPolicySpec[];
  private readonly pods: PodPlan[];
  private readonly podsByIp = new Map<string, PodPlan>();
  private readonly nodeByAddress = new Map<string, string>();
  private readonly nsLabels = new Map<string, Record<string, string>>();
  private readonly isolating = new Map<string, { ingress: NetworkPolicySpec[]; egress: NetworkPolicySpec[] }>();
  private readonly peerCache = new WeakMap<PolicyPeerSpec, PodPlan[]>();
  private readonly declaredLabels: Record<string, Record<string, string>>;

  constructor(input: EngineInput) {
    this.policies = input.policies;
    this.declaredLabels = input.namespaceLabels;
    // hostNetwork pods are their node: never selected, and their packets carry a node address.
    this.pods = input.pods.filter((p) => !p.hostNetwork);
    for (const p of this.pods) this.podsByIp.set(p.ip, p);
    for (const n of input.nodes) {
      this.nodeByAddress.set(n.ip, n.name);
      this.nodeByAddress.set(n.gateway, n.name);
    }
    for (const [ip, node] of input.nodeAddresses ?? []) this.nodeByAddress.set(ip, node);
    for (const pod of this.pods) {
      const ingress: NetworkPolicySpec[] = [];
      const egress: NetworkPolicySpec[] = [];
      for (const pol of this.policies) {
        if (pol.namespace !== pod.namespace || !matchesSelector(pol.podSelector, pod.labels)) continue;
        if (pol.policyTypes.includes('Ingress')) ingress.push(pol);
        if (pol.policyTypes.includes('Egress')) egress.push(pol);
      }
      if (ingress.length || egress.length) this.isolating.set(pod.key, { ingress, egress });
    }
  }

  static fromPlan(plan: Plan): PolicyEngine {
    const nodeAddresses = new Map<string, string>();
    for (const n of plan.nodes) nodeAddresses.set(vtepAddress(n), n.name);
    return new PolicyEngine({ policies: plan.spec.networkPolicies, pods: plan.pods, namespaceLabels: plan.spec.namespaceLabels, nodes: plan.nodes, nodeAddresses });
  }

  get hasPolicies(): boolean {
    return this.policies.length > 0;
  }

  namespaceLabels(ns: string): Record<string, string> {
    let labels = this.nsLabels.get(ns);
    if (!labels) {
      labels = { ...(this.declaredLabels[ns] ?? {}), [NAMESPACE_NAME_LABEL]: ns };
      this.nsLabels.set(ns, labels);
    }
    return labels;
  }

  /** The policies isolating `pod` in `direction`, in input order. */
  isolatedBy(pod: PodPlan, direction: Direction): NetworkPolicySpec[] {
    if (pod.hostNetwork) return [];
    return this.isolating.get(pod.key)?.[direction] ?? [];
  }

  /** Pods with their own namespace, the only ones policies select. */
  get selectablePods(): readonly PodPlan[] {
    return this.pods;
  }

  /** Who is at `ip`: a pod, or an address (a node's when it is one). */
  partyAt(ip: string, label?: string): Party {
    const pod = this.podsByIp.get(ip);
    if (pod) return { kind: 'pod', pod };
    const node = this.nodeByAddress.get(ip);
    return { kind: 'host', ip, ...(node ? { node } : {}), label: label ?? (node ? `${node} (${ip})` : ip) };
  }

  /** The pods (with their own namespace) a selector peer of `policy` matches; ipBlock peers match by address. */
  peerPods(policy: NetworkPolicySpec, peer: PolicyPeerSpec): PodPlan[] {
    let pods = this.peerCache.get(peer);
    if (!pods) {
      pods = this.pods.filter((p) => this.peerMatchesPod(policy, peer, p));
      this.peerCache.set(peer, pods);
    }
    return pods;
  }

  private peerMatchesPod(policy: NetworkPolicySpec, peer: PolicyPeerSpec, pod: PodPlan): boolean {
    if (peer.ipBlock) return inBlock(pod.ip, peer.ipBlock);
    const nsOk = peer.namespaceSelector ? matchesSelector(peer.namespaceSelector, this.namespaceLabels(pod.namespace)) : pod.namespace === policy.namespace;
    return nsOk && (peer.podSelector ? matchesSelector(peer.podSelector, pod.labels) : true);
  }

  peerMatches(policy: NetworkPolicySpec, peer: PolicyPeerSpec, party: Party): boolean {
    if (party.kind === 'pod') return this.peerMatchesPod(policy, peer, party.pod);
    return peer.ipBlock !== undefined && inBlock(party.ip, peer.ipBlock);
  }

  /** The first rule of the pod's isolating policies that admits `peer`, or undefined; `near` collects rules whose peer matched but no port did. */
  private findRule(policies: NetworkPolicySpec[], direction: Direction, peer: Party, dstPod: PodPlan | undefined, port: number | undefined, protocol: Protocol, near: string[]): RuleRef | undefined {
    for (const pol of policies) {
      const rules: PolicyRuleSpec[] = direction === 'ingress' ? pol.ingress : pol.egress;
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i]!;
        let peerIndex: number | undefined;
        if (rule.peers.length > 0) {
          const j = rule.peers.findIndex((p) => this.peerMatches(pol, p, peer));
          if (j < 0) continue;
          peerIndex = j;
        }
        const ref = { policy: policyKey(pol), rule: ruleName(direction, i, peerIndex) };
        if (rule.ports.length === 0 || rule.ports.some((p) => portMatches(p, dstPod, port, protocol))) return ref;
        near.push(`${ref.policy} ${ref.rule} admits it only on ${rule.ports.map(describePolicyPort).join(', ')}`);
      }
    }
    return undefined;
  }

  private direction(pod: PodPlan, direction: Direction, peer: Party, dstPod: PodPlan | undefined, port: number | undefined, protocol: Protocol): DirectionVerdict {
    const policies = this.isolatedBy(pod, direction);
    if (policies.length === 0) return { direction, allowed: true, isolatedBy: [], reason: `no policy isolates ${pod.key} for ${direction}` };
    const isolatedBy = policies.map(policyKey);
    const near: string[] = [];
    const allowedBy = this.findRule(policies, direction, peer, dstPod, port, protocol, near);
    if (allowedBy) return { direction, allowed: true, isolatedBy, allowedBy, reason: `allowed by ${allowedBy.policy} ${allowedBy.rule}` };
    const head = `${pod.key} is isolated for ${direction} by ${isolatedBy.join(', ')}`;
    const anyRule = policies.some((p) => (direction === 'ingress' ? p.ingress : p.egress).length > 0);
    const other = peer.kind === 'pod' ? `${peer.pod.key} (namespace ${peer.pod.namespace})` : partyLabel(peer);
    const what = direction === 'ingress' ? `from ${other}` : `to ${other}`;
    const why = !anyRule
      ? `no ${direction} rule allows anything`
      : near.length
        ? `no rule allows ${describePort(port, protocol)} ${what} (${near.join('; ')})`
        : `no rule allows ${what}`;
    return { direction, allowed: false, isolatedBy, reason: `${head}, ${why}` };
  }

  decide(src: Party, dst: Party, port: number | undefined, protocol: Protocol): Decision {
    if (src.kind === 'pod' && dst.kind === 'pod' && src.pod.key === dst.pod.key) {
      const reason = `a pod's traffic to itself is not policed`;
      const free = (direction: Direction): DirectionVerdict => ({ direction, allowed: true, isolatedBy: [], reason });
      return { allowed: true, egress: free('egress'), ingress: free('ingress'), reason };
    }
    const notPoliced = (direction: Direction, reason: string): DirectionVerdict => ({ direction, allowed: true, isolatedBy: [], reason });
    const egress =
      src.kind !== 'pod'
        ? notPoliced('egress', `${partyLabel(src)} is not a pod: its egress is not policed`)
        : dst.kind === 'host' && dst.node === src.pod.node
          ? notPoliced('egress', `traffic from ${src.pod.key} to its own node ${src.pod.node} is always allowed`)
          : this.direction(src.pod, 'egress', dst, dst.kind === 'pod' ? dst.pod : undefined, port, protocol);
    const ingress =
      dst.kind !== 'pod'
        ? notPoliced('ingress', `${partyLabel(dst)} is not a pod: its ingress is not policed`)
        : src.kind === 'host' && src.node === dst.pod.node
          ? notPoliced('ingress', `traffic from its own node ${dst.pod.node} to ${dst.pod.key} is always allowed`)
          : this.direction(dst.pod, 'ingress', src, dst.pod, port, protocol);
    const allowed = egress.allowed && ingress.allowed;
    const reason = !egress.allowed ? egress.reason : !ingress.allowed ? ingress.reason : `${egress.reason}; ${ingress.reason}`;
    return { allowed, egress, ingress, reason };
  }
}

/** A pod as a source or destination: itself, or its node's address when it uses the host network. */
export function podParty(pod: PodPlan): Party {
  return pod.hostNetwork ? { kind: 'host', ip: pod.ip, node: pod.node, label: `${pod.key} (hostNetwork on ${pod.node})` } : { kind: 'pod', pod };
}

/**
 * The source a packet from a hostNetwork pod (or the node itself) carries at
 * the destination: nothing is policed on its own node; to another node's
 * pods it leaves with the address the pod network gives the node.
 */
export function hostSourceToward(plan: Plan, node: NodePlan, dst: PodPlan, label: string): Party {
  const ip = dst.node === node.name ? node.ip : nodeSourceAddress(plan.spec.podNetwork.backend, node);
  return { kind: 'host', ip, node: node.name, label };
}
