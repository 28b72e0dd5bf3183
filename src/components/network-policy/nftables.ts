/**
 * A node's NetworkPolicy rules as one `nft -f` script (pure): the table
 * `inet kube-netlab-netpol` with the same structure as the iptables chains,
 * written the nftables way:
 *
 *   chain egress  (hook forward, priority 0): replies accepted, then
 *                 `ip saddr vmap @egress-pods` -> egress-<pod>
 *   chain ingress (hook forward, priority 1): replies accepted, then
 *                 `ip daddr vmap @ingress-pods` -> ingress-<pod>
 *   chain egress-<pod> / ingress-<pod>: its own traffic accepted, a jump to
 *                 each isolating policy's chain, then drop
 *   chain policy-egress-<policy> / policy-ingress-<policy>: a match accepts
 *
 * `accept` ends only the base chain it happens in, so an egress verdict
 * never skips the ingress one, and neither skips another table. Peers that
 * are pod selectors become named sets. The script deletes and recreates
 * the table in one transaction, so a node never runs half a sync and
 * conntrack keeps established connections across it.
 */
import { shortHash } from '../../render/netfilter-text.js';
import type { Direction } from './engine.js';
import type { Match, NodePolicyRules, PodChain } from './compile.js';

export const NETPOL_TABLE = 'kube-netlab-netpol';
const TABLE = `inet ${NETPOL_TABLE}`;
/** nft keeps at most 128 bytes of a comment. */
const COMMENT_MAX = 128;
/** Room under the kernel's 256-byte limit on object names. */
const NAME_MAX = 200;
const PRIORITY: Record<Direction, number> = { egress: 0, ingress: 1 };

const q = (text: string) => `"${(text.length > COMMENT_MAX - 1 ? `${text.slice(0, COMMENT_MAX - 4)}...` : text).replace(/"/g, "'")}"`;

/** A readable name, shortened with a hash when it would be too long. */
function objectName(name: string): string {
  return name.length <= NAME_MAX ? name : `${shortHash(name, 8)}-${name.slice(0, NAME_MAX - 12)}...`;
}

export const podChainNft = (direction: Direction, pod: string): string => objectName(`${direction}-${pod}`);
export const policyChainNft = (direction: Direction, policy: string): string => objectName(`policy-${direction}-${policy}`);

function portExpr(m: Match): string | undefined {
  if (!m.port) return undefined;
  const proto = m.port.protocol.toLowerCase();
  if (!m.port.range) return `meta l4proto ${proto}`;
  const [from, to] = m.port.range;
  return `${proto} dport ${from === to ? from : `${from}-${to}`}`;
}

interface Script {
  /** Named sets by name, each declared once however many matches use it. */
  sets: Map<string, string>;
  chains: string[];
}

/** `x/allow-b ingress[0].from[1]` -> `x/allow-b.ingress-0-from-1`: a selector peer's set. */
export function peerSetNft(selector: string): string {
  const [policy, rule] = selector.split(' ') as [string, string];
  return objectName(`${policy}.${rule.replace(/\[(\d+)\]/g, '-$1').replace(/\./g, '-')}`);
}

function matchRule(s: Script, direction: Direction, m: Match): string {
  const field = direction === 'ingress' ? 'ip saddr' : 'ip daddr';
  let peer: string | undefined;
  if (m.peer?.kind === 'addresses' && m.peer.selector !== undefined) {
    const set = peerSetNft(m.peer.selector);
    if (!s.sets.has(set)) {
      s.sets.set(set, `\tset ${set} {\n\t\ttype ipv4_addr\n\t\tcomment ${q(`pods of ${m.peer.selector}`)}\n${m.peer.ips.length ? `\t\telements = { ${m.peer.ips.join(', ')} }\n` : ''}\t}`);
    }
    peer = `${field} @${set}`;
  } else if (m.peer?.kind === 'addresses') {
    peer = m.peer.ips.length === 1 ? `${field} ${m.peer.ips[0]}` : `${field} { ${m.peer.ips.join(', ')} }`;
  } else if (m.peer?.kind === 'block') {
    peer = `${field} ${m.peer.cidr}${m.peer.except.length ? ` ${field} != { ${m.peer.except.join(', ')} }` : ''}`;
  }
  const local = m.local && `ip daddr ${m.local}`;
  return [local, peer, portExpr(m), 'counter accept', `comment ${q(m.comment)}`].filter(Boolean).join(' ');
}

function podChain(direction: Direction, p: PodChain): string {
  const self = direction === 'ingress' ? `ip saddr ${p.ip}` : `ip daddr ${p.ip}`;
  const lines = [
    `${self} accept comment ${q(`${p.pod} to itself is not policed`)}`,
    ...p.policies.map((policy) => `jump ${policyChainNft(direction, policy)}`),
    `counter drop comment ${q(`${p.pod} is isolated for ${direction} by ${p.policies.join(', ')}; no rule allows it`)}`,
  ];
  return `\tchain ${podChainNft(direction, p.pod)} {\n${lines.map((l) => `\t\t${l}\n`).join('')}\t}`;
}

function baseChain(direction: Direction): string {
  const field = direction === 'ingress' ? 'ip daddr' : 'ip saddr';
  return [
    `\tchain ${direction} {`,
    `\t\ttype filter hook forward priority ${PRIORITY[direction]}; policy accept;`,
    `\t\tct state established,related accept comment ${q('replies and established connections of allowed ones')}`,
    `\t\t${field} vmap @${direction}-pods`,
    '\t}',
  ].join('\n');
}

function podMap(direction: Direction, pods: PodChain[]): string {
  const elements = pods.map((p) => `${p.ip} : jump ${podChainNft(direction, p.pod)}`);
  return `\tmap ${direction}-pods {\n\t\ttype ipv4_addr : verdict\n\t\tcomment ${q(`${direction}-isolated pods on this node`)}\n${elements.length ? `\t\telements = { ${elements.join(', ')} }\n` : ''}\t}`;
}

/**
 * The whole table for one node, replacing what it held; a node with no
 * isolated pod gets no table at all.
 */
export function renderNetpolNftables(rules: NodePolicyRules): string {
  const lines = [`add table ${TABLE}`, `delete table ${TABLE}`];
  if (rules.ingress.length === 0 && rules.egress.length === 0) return [...lines, ''].join('\n');
  const s: Script = { sets: new Map(), chains: [] };
  for (const pc of rules.policies) {
    const name = policyChainNft(pc.direction, pc.policy);
    const body = pc.matches.map((m) => matchRule(s, pc.direction, m));
    s.chains.push(`\tchain ${name} {\n${body.map((r) => `\t\t${r}\n`).join('')}\t}`);
  }
  return [
    ...lines,
    `table ${TABLE} {`,
    // Declared before what refers to them: sets, then policy chains, pod chains, maps, base chains.
    ...s.sets.values(),
    ...s.chains,
    ...rules.egress.map((p) => podChain('egress', p)),
    ...rules.ingress.map((p) => podChain('ingress', p)),
    podMap('egress', rules.egress),
    podMap('ingress', rules.ingress),
    baseChain('egress'),
    baseChain('ingress'),
    '}',
    '',
  ].join('\n');
}

/** Removes the table (`down` of a node's policy, or a switch of proxy mode). */
export function renderNetpolNftablesRemoval(): string {
  return [`add table ${TABLE}`, `delete table ${TABLE}`, ''].join('\n');
}
