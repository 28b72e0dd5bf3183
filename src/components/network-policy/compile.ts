/**
 * Policies → what one node enforces, as plain data both renderers read
 * (pure). A node polices only its own pods, as real network-policy agents
 * do: egress where the sender runs, ingress where the receiver runs. Each
 * isolated pod gets a chain per direction listing the policies that isolate
 * it; each of those policies gets a chain per direction holding one match
 * per (peer, port) of its rules, with selectors expanded to pod addresses
 * and named ports resolved per destination pod.
 */
import type { NodePlan, PodPlan } from '../../model/types.js';
import { describePolicyPort, namedPort, ruleName, type Direction, type PolicyEngine } from './engine.js';
import { inBlock } from './ip-blocks.js';
import { policyKey, type NetworkPolicySpec, type PolicyPeerSpec, type PolicyPortSpec, type PolicyProtocol } from '../../spec/network-policy.js';

/**
 * The other end of the connection: its addresses, or a network minus
 * exceptions; absent: anyone. Addresses a selector peer expands to carry
 * the peer's name (`<policy> ingress[0].from[1]`), which nftables gives to
 * the named set holding them.
 */
export type PeerMatch = { kind: 'addresses'; ips: string[]; selector?: string } | { kind: 'block'; cidr: string; except: string[] };

export interface PortMatch {
  protocol: PolicyProtocol;
  /** Inclusive; absent: every port of the protocol. */
  range?: [number, number];
}

export interface Match {
  /** `<policy> <rule>` and the port, as it appears in the rule's comment. */
  comment: string;
  peer?: PeerMatch;
  /** Absent: every protocol (ICMP too). */
  port?: PortMatch;
  /** Ingress named ports: the local pod whose container port the name resolved to; the match holds for it only. */
  local?: string;
}

export interface PolicyChain {
  /** `<namespace>/<name>`. */
  policy: string;
  direction: Direction;
  matches: Match[];
}

export interface PodChain {
  /** `<namespace>/<name>`. */
  pod: string;
  ip: string;
  /** The policies isolating it in this direction, in input order. */
  policies: string[];
}

export interface NodePolicyRules {
  node: string;
  /** Local pods isolated for ingress, in plan order. */
  ingress: PodChain[];
  egress: PodChain[];
  /** Every (policy, direction) an isolated local pod needs, in input order. */
  policies: PolicyChain[];
}

function peerMatch(engine: PolicyEngine, pol: NetworkPolicySpec, peer: PolicyPeerSpec, name: string): PeerMatch | undefined {
  if (peer.ipBlock) return peer.ipBlock.family === 4 ? { kind: 'block', cidr: peer.ipBlock.cidr, except: peer.ipBlock.except } : undefined;
  return { kind: 'addresses', ips: engine.peerPods(pol, peer).map((p) => p.ip), selector: name };
}

/** The destination pods an egress rule's named port can reach: those the peer admits that have the name. */
function egressNamedTargets(engine: PolicyEngine, pol: NetworkPolicySpec, peer: PolicyPeerSpec | undefined): readonly PodPlan[] {
  if (!peer) return engine.selectablePods;
  if (peer.ipBlock) return engine.selectablePods.filter((p) => inBlock(p.ip, peer.ipBlock!));
  return engine.peerPods(pol, peer);
}

function policyMatches(engine: PolicyEngine, pol: NetworkPolicySpec, direction: Direction, localSelected: PodPlan[]): Match[] {
  const matches: Match[] = [];
  const rules = direction === 'ingress' ? pol.ingress : pol.egress;
  rules.forEach((rule, i) => {
    const peers: (PolicyPeerSpec | undefined)[] = rule.peers.length ? rule.peers : [undefined];
    const ports: (PolicyPortSpec | undefined)[] = rule.ports.length ? rule.ports : [undefined];
    peers.forEach((peer, j) => {
      const name = `${policyKey(pol)} ${ruleName(direction, i, peer ? j : undefined)}`;
      // An IPv6 block matches nothing in the lab's IPv4 network: no rule at all.
      const pm = peer ? peerMatch(engine, pol, peer, name) : undefined;
      if (peer && !pm) return;
      for (const port of ports) {
        const comment = port ? `${name} ${describePolicyPort(port)}` : name;
        if (port === undefined || typeof port.port !== 'string') {
          const range: [number, number] | undefined = typeof port?.port === 'number' ? [port.port, port.endPort ?? port.port] : undefined;
          matches.push({ comment, ...(pm ? { peer: pm } : {}), ...(port ? { port: { protocol: port.protocol, ...(range ? { range } : {}) } } : {}) });
          continue;
        }
        const portName = port.port;
        if (direction === 'ingress') {
          // The name resolves on the receiving pod, which is local: one match per local pod that has it.
          for (const pod of localSelected) {
            const n = namedPort(pod, portName, port.protocol);
            if (n !== undefined) matches.push({ comment: `${name} ${portName}=${n}/${port.protocol}`, ...(pm ? { peer: pm } : {}), port: { protocol: port.protocol, range: [n, n] }, local: pod.ip });
          }
        } else {
          for (const pod of egressNamedTargets(engine, pol, peer)) {
            const n = namedPort(pod, portName, port.protocol);
            if (n !== undefined) matches.push({ comment: `${name} ${portName}=${n}/${port.protocol}`, peer: { kind: 'addresses', ips: [pod.ip] }, port: { protocol: port.protocol, range: [n, n] } });
          }
        }
      }
    });
  });
  return matches;
}

export function compileNode(engine: PolicyEngine, node: NodePlan): NodePolicyRules {
  const local = engine.selectablePods.filter((p) => p.node === node.name);
  const out: NodePolicyRules = { node: node.name, ingress: [], egress: [], policies: [] };
  const needed = { ingress: new Map<NetworkPolicySpec, PodPlan[]>(), egress: new Map<NetworkPolicySpec, PodPlan[]>() };
  for (const pod of local) {
    for (const direction of ['ingress', 'egress'] as const) {
      const policies = engine.isolatedBy(pod, direction);
      if (policies.length === 0) continue;
      out[direction].push({ pod: pod.key, ip: pod.ip, policies: policies.map(policyKey) });
      for (const pol of policies) {
        const pods = needed[direction].get(pol);
        if (pods) pods.push(pod);
        else needed[direction].set(pol, [pod]);
      }
    }
  }
  for (const pol of engine.policies) {
    for (const direction of ['ingress', 'egress'] as const) {
      const pods = needed[direction].get(pol);
      if (pods) out.policies.push({ policy: policyKey(pol), direction, matches: policyMatches(engine, pol, direction, pods) });
    }
  }
  return out;
}
