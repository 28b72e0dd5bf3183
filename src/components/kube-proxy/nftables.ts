/**
 * kube-proxy's nftables mode, rendered for one node as one `nft -f` script
 * (pure). nft applies a file as a single transaction, so a node never runs
 * half a sync. Object names, rule text and comments follow upstream
 * kube-proxy (its v1.31-era layout, table `ip kube-proxy`), so
 * `nft list table ip kube-proxy` on a lab node reads like it does on a real
 * one.
 *
 * A full sync (no previous input) re-creates the base chains, declares every
 * other object with `add`, which keeps what exists, and flushes the chains,
 * sets and maps it writes. ClientIP affinity sets are declared but never
 * flushed, so the clients they remember survive; that is also why the table
 * itself is never deleted. Chains left by a state the sync is not told about
 * stay, unreferenced, until the table goes; told about it, it deletes them.
 * A partial sync, given the input of the previous successful sync, rewrites
 * only the chains whose rules changed, adds and deletes individual map and
 * set elements, and deletes the chains and affinity sets no service port owns
 * any more, after everything that pointed at them is gone.
 */
import { categorize } from './categorize.js';
import { portsChangedInPlace, sameServicePorts, servicePortName, type ProxyEndpoint, type ProxyNodeInput, type ProxyServicePort } from '../../model/services.js';
import { affinitySetName, endpointChainName, servicePortChains, type NameMemo } from './nft-names.js';

export const NFT_FAMILY = 'ip';
export const NFT_TABLE = 'kube-proxy';
const TABLE = `${NFT_FAMILY} ${NFT_TABLE}`;

const MARK_MASQ = 'mark-for-masquerade';
const REJECT_CHAIN = 'reject-chain';

interface BaseChain {
  name: string;
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** Numeric: nft 1.0.6 refuses named priorities (`dstnat - 10`) outside the hooks they belong to. */
  priority: number;
}

/**
 * Filter chains run just before DNAT (-100), so they still see the service
 * address; filter-output-post-dnat runs just after it, so it only sees what
 * no service rule rewrote (an unknown port of a ClusterIP).
 */
const BASE_CHAINS: BaseChain[] = [
  { name: 'filter-prerouting', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: -110 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: -110 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-output-post-dnat', type: 'filter', hook: 'output', priority: -90 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** [from base chain, to chain, match]: how packets enter kube-proxy's regular chains. */
const JUMPS: [string, string, string][] = [
  ['filter-input', 'nodeport-endpoints-check', 'ct state new'],
  ['filter-input', 'service-endpoints-check', 'ct state new'],
  ['filter-forward', 'service-endpoints-check', 'ct state new'],
  ['filter-output', 'service-endpoints-check', 'ct state new'],
  ['filter-prerouting', 'firewall-check', 'ct state new'],
  ['filter-output', 'firewall-check', 'ct state new'],
  ['nat-output', 'services', ''],
  ['nat-prerouting', 'services', ''],
  ['nat-postrouting', 'masquerading', ''],
  ['filter-forward', 'cluster-ips-check', 'ct state new'],
  ['filter-output-post-dnat', 'cluster-ips-check', 'ct state new'],
];

const REGULAR_CHAINS = [
  'nodeport-endpoints-check',
  'service-endpoints-check',
  'firewall-check',
  'services',
  'masquerading',
  'cluster-ips-check',
  MARK_MASQ,
  REJECT_CHAIN,
];

const CHAIN_COMMENTS: Record<string, string> = {
  [REJECT_CHAIN]: 'helper for @no-endpoint-services / @no-endpoint-nodeports',
};

const ADDR = 'ipv4_addr';
const IP_PROTO_PORT = `${ADDR} . inet_proto . inet_service : verdict`;
const PROTO_PORT = 'inet_proto . inet_service : verdict';

/** Sets and maps whose elements the sync owns (affinity sets aside), in declaration order. */
const CONTAINERS: { kind: 'set' | 'map'; name: string; type: string; comment: string }[] = [
  { kind: 'set', name: 'cluster-ips', type: ADDR, comment: 'Active ClusterIPs' },
  { kind: 'set', name: 'nodeport-ips', type: ADDR, comment: 'IPs that accept NodePort traffic' },
  { kind: 'map', name: 'no-endpoint-services', type: IP_PROTO_PORT, comment: 'vmap to drop or reject packets to services with no endpoints' },
  { kind: 'map', name: 'no-endpoint-nodeports', type: PROTO_PORT, comment: 'vmap to drop or reject packets to service nodeports with no endpoints' },
  { kind: 'map', name: 'firewall-ips', type: IP_PROTO_PORT, comment: 'destinations that are subject to LoadBalancerSourceRanges' },
  { kind: 'map', name: 'service-ips', type: IP_PROTO_PORT, comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' },
  { kind: 'map', name: 'service-nodeports', type: PROTO_PORT, comment: 'NodePort traffic' },
];

interface NftChain {
  name: string;
  rules: string[];
}

interface AffinitySet {
  name: string;
  timeoutSeconds: number;
}

interface NftElement {
  /** Set or map name. */
  container: string;
  key: string;
  /** Verdict, for maps. */
  value?: string;
  comment?: string;
}

/** The chains and affinity sets one service port owns. */
interface PortChains {
  /** Declared before any rule, since rules refer to each other's chains. */
  chains: NftChain[];
  affinitySets: AffinitySet[];
}

const q = (text: string) => `"${text}"`;
const markOf = (input: ProxyNodeInput) => `0x${(1 << input.masqueradeBit).toString(16)}`;


/** Sticky endpoints first, then a uniform random pick. */
function dispatchRules(sp: ProxyServicePort, endpoints: ProxyEndpoint[], memo: NameMemo): string[] {
  const rules = sp.affinityTimeoutSeconds ? endpoints.map((e) => `ip saddr @${affinitySetName(sp, e, memo)} goto ${endpointChainName(sp, e, memo)}`) : [];
  const arms = endpoints.map((e, i) => `${i} : goto ${endpointChainName(sp, e, memo)}`).join(' , ');
  rules.push(`numgen random mod ${endpoints.length} vmap { ${arms} }`);
  return rules;
}

function endpointRules(sp: ProxyServicePort, e: ProxyEndpoint, memo: NameMemo): string[] {
  return [
    // A pod reaching itself through the service must be SNATed, or it would answer itself directly.
    `ip saddr ${e.ip} jump ${MARK_MASQ}`,
    ...(sp.affinityTimeoutSeconds ? [`update @${affinitySetName(sp, e, memo)} { ip saddr }`] : []),
    `meta l4proto ${sp.protocol.toLowerCase()} dnat to ${e.ip}:${e.port}`,
  ];
}

function externalRules(input: ProxyNodeInput, serviceChain: string, localChain: string, externalLocal: boolean, hasExternal: boolean): string[] {
  // Cluster policy may cross nodes, so the reply must come back through this one.
  if (!externalLocal) return [`jump ${MARK_MASQ}`, `goto ${serviceChain}`];
  return [
    // Pods and the node itself are not subject to the policy: as if they went out to a load balancer and back.
    `ip saddr ${input.clusterCIDR} goto ${serviceChain} comment ${q('short-circuit pod traffic')}`,
    `fib saddr type local jump ${MARK_MASQ} comment ${q('masquerade local traffic')}`,
    `fib saddr type local goto ${serviceChain} comment ${q('short-circuit local traffic')}`,
    ...(hasExternal ? [`goto ${localChain}`] : []),
  ];
}

/** What the port adds to the shared sets and maps: where its addresses lead, or why they are refused. */
function portElements(sp: ProxyServicePort, memo: NameMemo): NftElement[] {
  const c = categorize(sp);
  const names = servicePortChains(sp, memo);
  const p = sp.protocol.toLowerCase();
  const spn = servicePortName(sp);
  const internalChain = sp.internalPolicyLocal ? names.local : names.service;
  // No endpoints anywhere: reject. Endpoints, but none this policy may use here: drop.
  const noEndpoints = c.hasEndpoints ? 'drop' : `goto ${REJECT_CHAIN}`;
  const vip = (ip: string) => `${ip} . ${p} . ${sp.port}`;

  const elements: NftElement[] = [{ container: 'cluster-ips', key: sp.clusterIP }];
  if (c.hasInternal) elements.push({ container: 'service-ips', key: vip(sp.clusterIP), value: `goto ${internalChain}` });
  else elements.push({ container: 'no-endpoint-services', key: vip(sp.clusterIP), value: noEndpoints, comment: spn });
  for (const ip of sp.loadBalancerIPs) {
    if (c.hasEndpoints) elements.push({ container: 'service-ips', key: vip(ip), value: `goto ${names.external}` });
    if (!c.hasExternal) elements.push({ container: 'no-endpoint-services', key: vip(ip), value: noEndpoints, comment: spn });
  }
  if (sp.nodePort) {
    const key = `${p} . ${sp.nodePort}`;
    if (c.hasEndpoints) elements.push({ container: 'service-nodeports', key, value: `goto ${names.external}` });
    if (!c.hasExternal) elements.push({ container: 'no-endpoint-nodeports', key, value: noEndpoints, comment: spn });
  }
  return elements;
}

function portChains(input: ProxyNodeInput, sp: ProxyServicePort, memo: NameMemo): PortChains {
  const c = categorize(sp);
  const names = servicePortChains(sp, memo);
  const internalChain = sp.internalPolicyLocal ? names.local : names.service;
  // Traffic to the ClusterIP from outside the pod network may come back another way unless SNATed.
  const masq = `ip daddr ${sp.clusterIP} ${sp.protocol.toLowerCase()} dport ${sp.port} ip saddr != ${input.clusterCIDR} jump ${MARK_MASQ}`;
  const masqIn = (chain: string) => (chain === internalChain && c.hasInternal ? [masq] : []);

  const chains: NftChain[] = [];
  if (c.cluster.length > 0) chains.push({ name: names.service, rules: [...masqIn(names.service), ...dispatchRules(sp, c.cluster, memo)] });
  if (c.local.length > 0) chains.push({ name: names.local, rules: [...masqIn(names.local), ...dispatchRules(sp, c.local, memo)] });
  if (c.hasEndpoints && c.externallyAccessible) {
    chains.push({ name: names.external, rules: externalRules(input, names.service, names.local, c.externalLocal, c.hasExternal) });
  }
  for (const e of c.reachable) chains.push({ name: endpointChainName(sp, e, memo), rules: endpointRules(sp, e, memo) });

  const timeout = sp.affinityTimeoutSeconds;
  const affinitySets = timeout ? c.reachable.map((e) => ({ name: affinitySetName(sp, e, memo), timeoutSeconds: timeout })) : [];
  return { chains, affinitySets };
}

// ---- text of single commands ----

const addChain = (name: string) => {
  const comment = CHAIN_COMMENTS[name];
  return comment ? `add chain ${TABLE} ${name} { comment ${q(comment)} ; }` : `add chain ${TABLE} ${name}`;
};
const flushChain = (name: string) => `flush chain ${TABLE} ${name}`;
const deleteChain = (name: string) => `delete chain ${TABLE} ${name}`;
const addRule = (chain: string, rule: string) => `add rule ${TABLE} ${chain} ${rule}`;
const addAffinitySet = (s: AffinitySet) => `add set ${TABLE} ${s.name} { type ${ADDR} ; flags dynamic,timeout ; timeout ${s.timeoutSeconds}s ; }`;
const deleteSet = (name: string) => `delete set ${TABLE} ${name}`;
const elementBody = (e: NftElement) => `${e.key}${e.comment ? ` comment ${q(e.comment)}` : ''}${e.value ? ` : ${e.value}` : ''}`;
const addElement = (e: NftElement) => `add element ${TABLE} ${e.container} { ${elementBody(e)} }`;
const deleteElement = (e: NftElement) => `delete element ${TABLE} ${e.container} { ${e.key} }`;

const declareChain = (name: string) => [addChain(name), flushChain(name)];
const ruleLines = (chain: NftChain) => chain.rules.map((r) => addRule(chain.name, r));

/** Table, base chains, top-level chains, sets and maps, and their fixed rules. */
function skeleton(input: ProxyNodeInput): string[] {
  const mark = markOf(input);
  const lines = [`add table ${TABLE} { comment ${q('rules for kube-proxy')} ; }`];
  // Re-created rather than kept: a base chain's hook or priority cannot be changed in place.
  for (const bc of BASE_CHAINS) lines.push(`add chain ${TABLE} ${bc.name}`, deleteChain(bc.name));
  for (const bc of BASE_CHAINS) lines.push(`add chain ${TABLE} ${bc.name} { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
  for (const name of REGULAR_CHAINS) lines.push(...declareChain(name));
  for (const c of CONTAINERS) lines.push(`add ${c.kind} ${TABLE} ${c.name} { type ${c.type} ; comment ${q(c.comment)} ; }`, `flush ${c.kind} ${TABLE} ${c.name}`);
  for (const [from, to, match] of JUMPS) lines.push(addRule(from, `${match ? `${match} ` : ''}jump ${to}`));
  lines.push(
    addRule('nodeport-endpoints-check', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports'),
    addRule('service-endpoints-check', 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services'),
    addRule('firewall-check', 'ip daddr . meta l4proto . th dport vmap @firewall-ips'),
    addRule('services', 'ip daddr . meta l4proto . th dport vmap @service-ips'),
    addRule('services', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports'),
    addRule('masquerading', `mark and ${mark} == 0 return`),
    addRule('masquerading', `mark set mark xor ${mark}`),
    addRule('masquerading', 'masquerade fully-random'),
    addRule('cluster-ips-check', `ip daddr @cluster-ips reject comment ${q('Reject traffic to invalid ports of ClusterIPs')}`),
    addRule(MARK_MASQ, `mark set mark or ${mark}`),
    addRule(REJECT_CHAIN, 'reject'),
    addElement({ container: 'nodeport-ips', key: input.nodeIP }),
  );
  return lines;
}

const rulesKey = (c: NftChain) => c.rules.join('\n');
const elementId = (e: NftElement) => `${e.container} ${e.key}`;
const sameElement = (a: NftElement, b: NftElement) => a.value === b.value && a.comment === b.comment;

/** Elements of some ports, by container and key: a ClusterIP shared by several ports is one element. */
function elementsOf(ports: ProxyServicePort[], memo: NameMemo): Map<string, NftElement> {
  const elements = new Map<string, NftElement>();
  for (const e of ports.flatMap((sp) => portElements(sp, memo))) if (!elements.has(elementId(e))) elements.set(elementId(e), e);
  return elements;
}

/** Chains (with their rules) and affinity sets (with their timeouts) of some ports. */
interface Owned {
  chains: Map<string, string>;
  affinity: Map<string, number>;
}

function ownedBy(ports: PortChains[]): Owned {
  return {
    chains: new Map(ports.flatMap((p) => p.chains.map((c) => [c.name, rulesKey(c)] as const))),
    affinity: new Map(ports.flatMap((p) => p.affinitySets.map((s) => [s.name, s.timeoutSeconds] as const))),
  };
}

const owned = (input: ProxyNodeInput, ports: ProxyServicePort[], memo: NameMemo) => ownedBy(ports.map((sp) => portChains(input, sp, memo)));

/** What `before` owned and `now` does not: flushed first, deleted last, once nothing points at them. */
function staleObjects(before: Owned, now: Owned) {
  return {
    chains: [...before.chains.keys()].filter((c) => !now.chains.has(c)),
    sets: [...before.affinity.keys()].filter((s) => !now.affinity.has(s)),
  };
}

/** Node-wide settings appear in the fixed rules; when they change only a full sync is right. */
const nodeSettings = (input: ProxyNodeInput) => JSON.stringify([input.nodeIP, input.clusterCIDR, input.masqueradeBit]);

function fullSync(input: ProxyNodeInput, previous: ProxyNodeInput | undefined, memo: NameMemo): string {
  const ports = input.services.map((sp) => portChains(input, sp, memo));
  const stale = previous ? staleObjects(owned(previous, previous.services, memo), ownedBy(ports)) : { chains: [], sets: [] };
  const lines = [...skeleton(input), ...stale.chains.map(flushChain)];
  for (const port of ports) {
    lines.push(...port.chains.flatMap((c) => declareChain(c.name)));
    // Declared, never flushed: the clients each set remembers must survive a sync.
    lines.push(...port.affinitySets.map(addAffinitySet));
    lines.push(...port.chains.flatMap(ruleLines));
  }
  lines.push(...[...elementsOf(input.services, memo).values()].map(addElement));
  lines.push(...stale.chains.map(deleteChain), ...stale.sets.map(deleteSet));
  return `${lines.join('\n')}\n`;
}

const serviceId = (sp: ProxyServicePort) => `${sp.namespace}/${sp.service}`;

function portsByService(input: ProxyNodeInput): Map<string, ProxyServicePort[]> {
  const services = new Map<string, ProxyServicePort[]>();
  for (const sp of input.services) {
    const ports = services.get(serviceId(sp));
    if (ports) ports.push(sp);
    else services.set(serviceId(sp), [sp]);
  }
  return services;
}

/**
 * The ports, on each side, of the services that differ, as upstream tracks
 * changes: per service, so the ClusterIP its ports share belongs to one unit.
 * Everything of the other services is the same on both sides.
 */
function changedPorts(input: ProxyNodeInput, previous: ProxyNodeInput) {
  return alignedChanges(input, previous) ?? changedByService(input, previous);
}

/**
 * The common case, an endpoint change: the same ports in the same places on
 * both sides. One pass pairs them by position; the services whose ports
 * differ are taken whole from each side. Undefined when a port was added,
 * removed or moved, which the keyed comparison handles.
 */
function alignedChanges(input: ProxyNodeInput, previous: ProxyNodeInput) {
  const now = input.services;
  const before = previous.services;
  const differ = portsChangedInPlace(before, now);
  if (!differ) return undefined;
  if (differ.length === 0) return { now: [], before: [] };
  // Every port of a changed service, picked by its name first (no key to build for the thousands of others).
  const names = new Set(differ.map((i) => now[i]!.service));
  const ids = new Set(differ.map((i) => serviceId(now[i]!)));
  const taken: number[] = [];
  for (let k = 0; k < now.length; k++) if (names.has(now[k]!.service) && ids.has(serviceId(now[k]!))) taken.push(k);
  return { now: taken.map((k) => now[k]!), before: taken.map((k) => before[k]!) };
}

function changedByService(input: ProxyNodeInput, previous: ProxyNodeInput) {
  const now = portsByService(input);
  const before = portsByService(previous);
  const changed = new Set<string>();
  for (const [id, ports] of now) if (!sameServicePorts(ports, before.get(id))) changed.add(id);
  for (const id of before.keys()) if (!now.has(id)) changed.add(id);
  const pick = (services: Map<string, ProxyServicePort[]>) => [...changed].flatMap((id) => services.get(id) ?? []);
  return { now: pick(now), before: pick(before) };
}

function partialSync(input: ProxyNodeInput, previous: ProxyNodeInput, memo: NameMemo): string {
  const changed = changedPorts(input, previous);
  const before = owned(previous, changed.before, memo);
  const ports = changed.now.map((sp) => portChains(input, sp, memo));
  const stale = staleObjects(before, ownedBy(ports));

  const elementsBefore = elementsOf(changed.before, memo);
  const elementsNow = elementsOf(changed.now, memo);
  const differs = (e: NftElement, other: Map<string, NftElement>) => {
    const o = other.get(elementId(e));
    return !o || !sameElement(e, o);
  };
  const gone = [...elementsBefore.values()].filter((e) => differs(e, elementsNow));
  const added = [...elementsNow.values()].filter((e) => differs(e, elementsBefore));

  const lines = [...stale.chains.map(flushChain), ...gone.map(deleteElement)];
  for (const port of ports) {
    // Whether `add set` changes an existing set's timeout depends on the kernel; re-creating it does not.
    const recreated = port.affinitySets.filter((s) => (before.affinity.get(s.name) ?? s.timeoutSeconds) !== s.timeoutSeconds);
    const created = port.affinitySets.filter((s) => !before.affinity.has(s.name));
    // Only this port's chains refer to its sets; rewriting them all drops every reference first.
    const written = recreated.length > 0 ? port.chains : port.chains.filter((c) => before.chains.get(c.name) !== rulesKey(c));
    lines.push(...written.flatMap((c) => declareChain(c.name)));
    lines.push(...recreated.flatMap((s) => [deleteSet(s.name), addAffinitySet(s)]), ...created.map(addAffinitySet));
    lines.push(...written.flatMap(ruleLines));
  }
  lines.push(...added.map(addElement), ...stale.chains.map(deleteChain), ...stale.sets.map(deleteSet));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/**
 * What a caller keeps between syncs so names are not hashed again: the
 * proxy controller owns one, so nothing in this module outlives a call.
 * Without it a render starts from nothing (the result is the same, only
 * slower). Names do not depend on the node, so one serves every node.
 */
export class NftablesMemo {
  readonly names: NameMemo = new Map();
}

/**
 * One node's sync as an `nft -f` script. Without `previous`, or when a
 * node-wide setting changed, a full sync; otherwise only what differs from
 * `previous`, which must be the input of the last sync that was applied.
 * An empty string means there is nothing to change.
 */
export function renderNftablesSync(input: ProxyNodeInput, previous?: ProxyNodeInput, memo: NftablesMemo = new NftablesMemo()): string {
  if (!previous || nodeSettings(previous) !== nodeSettings(input)) return fullSync(input, previous, memo.names);
  return partialSync(input, previous, memo.names);
}

/**
 * A script that needs of libnftables' cache what a partial sync needs (every
 * chain of the table), adds only a rule, and holds wherever a sync has just
 * been applied (every sync leaves the masquerade chain): checked, never
 * committed, after each sync (kernel/netfilter.ts nftApply).
 */
export const NFT_CACHE_PROBE = `add rule ${TABLE} ${MARK_MASQ} counter\n`;
