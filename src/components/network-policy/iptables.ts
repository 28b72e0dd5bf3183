/**
 * A node's NetworkPolicy rules as `iptables-restore --noflush` text for the
 * filter table (pure), in the style of kube-router:
 *
 *   FORWARD -> NETPOL-FORWARD        replies of allowed connections return at once
 *     -> NETPOL-EGRESS               -s <pod> per egress-isolated local pod
 *     -> NETPOL-INGRESS              -d <pod> per ingress-isolated local pod
 *          -> NETPOL-POD-{EGR,ING}-<hash>   one per pod: its own traffic returns,
 *               the mark is cleared, each isolating policy's chain is called,
 *               a marked packet returns, anything else is dropped
 *                -> NETPOL-POL-{EGR,ING}-<hash>   one per policy: every match sets
 *                     the mark (0x10000); ipBlock exceptions go through NETPOL-EXC-<hash>
 *
 * FORWARD runs after nat PREROUTING, so a packet to a ClusterIP, NodePort or
 * load-balancer IP is judged on the endpoint it was DNATed to. Traffic the
 * node itself sends or receives never passes FORWARD: a pod's own node is
 * always allowed. The chains only drop or return, leaving acceptance to the
 * rest of FORWARD (kube-proxy's and flannel's chains).
 */
import { iptablesComment as comment } from '../../render/netfilter-text.js';
import { shortHash } from '../../render/netfilter-text.js';
import type { Direction } from './engine.js';
import type { Match, NodePolicyRules, PodChain } from './compile.js';

export const NETPOL_FORWARD = 'NETPOL-FORWARD';
const DISPATCH: Record<Direction, string> = { ingress: 'NETPOL-INGRESS', egress: 'NETPOL-EGRESS' };
const SHORT: Record<Direction, string> = { ingress: 'ING', egress: 'EGR' };
/** The bit a policy match sets and an isolated pod's chain tests; kube-proxy uses 0x4000 and 0x8000. */
export const ALLOW_MARK = '0x10000';
const SET_MARK = `-j MARK --set-xmark ${ALLOW_MARK}/${ALLOW_MARK}`;
/** iptables keeps at most 256 bytes of a comment. */
const COMMENT_MAX = 255;

export const podChainName = (direction: Direction, pod: string): string => `NETPOL-POD-${SHORT[direction]}-${shortHash(pod, 12)}`;
export const policyChainName = (direction: Direction, policy: string): string => `NETPOL-POL-${SHORT[direction]}-${shortHash(`${policy}/${direction}`, 12)}`;
const exceptChainName = (key: string): string => `NETPOL-EXC-${shortHash(key, 16)}`;

const note = (text: string) => comment(text.length > COMMENT_MAX ? `${text.slice(0, COMMENT_MAX - 3)}...` : text);
const host = (ip: string) => `${ip}/32`;
const words = (...parts: (string | false | undefined)[]) => parts.filter((p): p is string => !!p).join(' ');

const protoArgs = (m: Match) => m.port && `-p ${m.port.protocol.toLowerCase()}`;

function dportArgs(m: Match): string | undefined {
  if (!m.port?.range) return undefined;
  const proto = m.port.protocol.toLowerCase();
  const [from, to] = m.port.range;
  return `-m ${proto} --dport ${from === to ? from : `${from}:${to}`}`;
}

interface Chains {
  order: string[];
  rules: Map<string, string[]>;
}

function chain(c: Chains, name: string): string[] {
  let rules = c.rules.get(name);
  if (!rules) {
    rules = [];
    c.rules.set(name, rules);
    c.order.push(name);
  }
  return rules;
}

/** One match's rules in its policy chain: the peer is the source for ingress, the destination for egress. */
function matchRules(c: Chains, policyChain: string, direction: Direction, m: Match, index: number): void {
  const rules = chain(c, policyChain);
  const peerFlag = direction === 'ingress' ? '-s' : '-d';
  const local = m.local && `-d ${host(m.local)}`;
  const tail = (target: string, peer?: string) => words(direction === 'ingress' ? peer : local, direction === 'ingress' ? local : peer, protoArgs(m), note(m.comment), dportArgs(m), target);
  if (!m.peer) {
    rules.push(tail(SET_MARK));
  } else if (m.peer.kind === 'addresses') {
    // A selector that matches no pod now: the rule is kept as a comment, so the chain shows why nothing is admitted.
    if (m.peer.ips.length === 0) rules.push(note(`${m.comment}: selects no pod`));
    for (const ip of m.peer.ips) rules.push(tail(SET_MARK, `${peerFlag} ${host(ip)}`));
  } else if (m.peer.except.length === 0) {
    rules.push(tail(SET_MARK, `${peerFlag} ${m.peer.cidr}`));
  } else {
    const except = exceptChainName(`${policyChain} ${index} ${m.comment}`);
    rules.push(tail(`-j ${except}`, `${peerFlag} ${m.peer.cidr}`));
    const own = chain(c, except);
    for (const e of m.peer.except) own.push(words(`${peerFlag} ${e}`, note(`${m.comment} except ${e}`), '-j RETURN'));
    own.push(words(note(m.comment), SET_MARK));
  }
}

function podRules(c: Chains, direction: Direction, p: PodChain): void {
  const own = podChainName(direction, p.pod);
  const isolated = `${p.pod} is isolated for ${direction} by ${p.policies.join(', ')}`;
  chain(c, DISPATCH[direction]).push(words(`${direction === 'ingress' ? '-d' : '-s'} ${host(p.ip)}`, note(p.pod), `-j ${own}`));
  const rules = chain(c, own);
  rules.push(words(`${direction === 'ingress' ? '-s' : '-d'} ${host(p.ip)}`, note(`${p.pod} to itself is not policed`), '-j RETURN'));
  rules.push(words(note(`${p.pod}: start without the allow mark`), `-j MARK --set-xmark 0x0/${ALLOW_MARK}`));
  for (const policy of p.policies) rules.push(words(note(`${p.pod}: ${direction} rules of ${policy}`), `-j ${policyChainName(direction, policy)}`));
  rules.push(words(note(`${p.pod}: allowed by a rule`), `-m mark --mark ${ALLOW_MARK}/${ALLOW_MARK}`, '-j RETURN'));
  rules.push(words(note(`${isolated}; no rule allows it`), '-j DROP'));
}

/** Every chain this node's rules need, in declaration order, with their rules. */
export function netpolChains(rules: NodePolicyRules): Chains {
  const c: Chains = { order: [], rules: new Map() };
  const fwd = chain(c, NETPOL_FORWARD);
  chain(c, DISPATCH.egress);
  chain(c, DISPATCH.ingress);
  if (rules.ingress.length || rules.egress.length) {
    fwd.push(words(note('replies and established connections of allowed ones'), '-m conntrack --ctstate RELATED,ESTABLISHED', '-j RETURN'));
    fwd.push(words(note('egress of isolated pods on this node'), `-j ${DISPATCH.egress}`));
    fwd.push(words(note('ingress of isolated pods on this node'), `-j ${DISPATCH.ingress}`));
  }
  for (const p of rules.egress) podRules(c, 'egress', p);
  for (const p of rules.ingress) podRules(c, 'ingress', p);
  for (const pc of rules.policies) {
    const name = policyChainName(pc.direction, pc.policy);
    chain(c, name);
    pc.matches.forEach((m, i) => matchRules(c, name, pc.direction, m, i));
  }
  return c;
}

/**
 * The restore text of one sync: every chain declared (so flushed) and
 * filled, then the chains of `previous` that are no longer needed deleted.
 * Returns the chains the node holds afterwards, for the next sync.
 */
export function renderNetpolIptables(rules: NodePolicyRules, previous: readonly string[] = []): { text: string; chains: string[] } {
  const c = netpolChains(rules);
  const stale = previous.filter((name) => !c.rules.has(name));
  const lines = [
    '*filter',
    ...[...c.order, ...stale].map((name) => `:${name} - [0:0]`),
    ...c.order.flatMap((name) => c.rules.get(name)!.map((r) => `-A ${name} ${r}`)),
    ...stale.map((name) => `-X ${name}`),
    'COMMIT',
    '',
  ];
  return { text: lines.join('\n'), chains: c.order };
}

/** Once per node at `up`: the chain FORWARD jumps to first, before kube-proxy's and flannel's chains can accept anything. */
export function renderNetpolBootstrap(): string {
  return ['*filter', `:${NETPOL_FORWARD} - [0:0]`, `-I FORWARD ${note('kube-netlab network policy')} -j ${NETPOL_FORWARD}`, 'COMMIT', ''].join('\n');
}

/** The chains of the lab's network policy in `iptables-save` output: what a first sync must clean up. */
export function netpolChainsIn(save: string): string[] {
  return save
    .split('\n')
    .filter((l) => l.startsWith(':NETPOL-'))
    .map((l) => l.slice(1).split(' ')[0]!);
}
