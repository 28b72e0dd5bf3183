/**
 * kube-proxy's iptables mode, rendered for one node as `iptables-restore
 * --noflush` text (pure). Chain names, hashes, comments, probabilities and
 * the order of rules in each chain follow upstream kube-proxy; within a
 * rule, arguments come in the order `iptables-save` prints them back, so a
 * user comparing the two reads the same line.
 *
 * A full sync declares (and so flushes) every chain it owns and writes it.
 * A partial sync, given the input of the previous applied sync, rewrites the
 * top-level chains, the chains of the service ports whose chains changed,
 * and declares then deletes the chains nothing owns any more: the same
 * result as a full sync, with a fraction of the text.
 */
import { iptablesComment } from '../../render/netfilter-text.js';
import { portsChangedInPlace, sameServicePort, servicePortName, type ProxyEndpoint, type ProxyNodeInput, type ProxyServicePort } from '../../model/services.js';
import { categorize } from './categorize.js';
import { extChain, joinHostPort, sepChain, svcChain, svlChain } from './hash.js';

/** Above this many endpoints on a node, per-endpoint comments are left out (upstream `largeClusterEndpointsThreshold`). */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

const FILTER_TOP = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL'];
const NAT_TOP = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
const MARK_MASQ = 'KUBE-MARK-MASQ';
const CANARY = 'KUBE-PROXY-CANARY';

/** One table: chains in declaration order, each with its rules (the arguments after `-A <chain>`). */
type Chains = Map<string, string[]>;

/** Everything one input renders to, whether or not a given sync writes it. */
interface Rendered {
  filter: Chains;
  nat: Chains;
  /** Each service port's own nat chains, by `<servicePortName>/<protocol>`. */
  owned: Map<string, string[]>;
}


const comment = iptablesComment;
const host = (ip: string) => `${ip}/${ip.includes(':') ? 128 : 32}`;
const words = (...parts: (string | false | undefined)[]) => parts.filter((p): p is string => !!p).join(' ');

function add(chains: Chains, chain: string, rule: string): void {
  const rules = chains.get(chain);
  if (!rules) throw new Error(`rule for undeclared chain ${chain}`);
  rules.push(rule);
}

/**
 * `1/k` as kube-proxy prints it (Go `%0.10f`): rounded from the exact binary
 * value, ties to even (1/2048 gives 0.0004882812, where `toFixed` rounds up).
 */
export function iptablesProbability(k: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, 1 / k);
  const exponent = (view.getUint32(0) >>> 20) & 0x7ff;
  const fraction = (BigInt(view.getUint32(0) & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  const mantissa = exponent === 0 ? fraction : fraction | (1n << 52n);
  const scale = 10n ** 10n;
  // 1/k <= 1, so the value is mantissa / 2^shift with shift > 0.
  const divisor = 1n << BigInt(1075 - Math.max(exponent, 1));
  let digits = (mantissa * scale) / divisor;
  const twice = 2n * ((mantissa * scale) % divisor);
  if (twice > divisor || (twice === divisor && digits % 2n === 1n)) digits += 1n;
  return `${digits / scale}.${(digits % scale).toString().padStart(10, '0')}`;
}

/** How upstream classifies one service port's endpoints and destinations on this node. */
interface PortView {
  sp: ProxyServicePort;
  name: string;
  proto: string;
  svc: string;
  svl: string;
  ext: string;
  sep: (ep: ProxyEndpoint) => string;
  clusterEndpoints: ProxyEndpoint[];
  localEndpoints: ProxyEndpoint[];
  /** Endpoints some chain of this node can send to: the ones that get a KUBE-SEP chain. */
  reachable: ProxyEndpoint[];
  hasEndpoints: boolean;
  hasInternalEndpoints: boolean;
  hasExternalEndpoints: boolean;
  externallyAccessible: boolean;
  externalPolicyLocal: boolean;
  internalChain: string;
  externalPolicyChain: string;
}

function viewOf(sp: ProxyServicePort): PortView {
  const name = servicePortName(sp);
  const proto = sp.protocol.toLowerCase();
  const c = categorize(sp);
  const svc = svcChain(name, proto);
  const svl = svlChain(name, proto);
  return {
    sp,
    name,
    proto,
    svc,
    svl,
    ext: extChain(name, proto),
    sep: (ep) => sepChain(name, proto, joinHostPort(ep.ip, ep.port)),
    clusterEndpoints: c.cluster,
    localEndpoints: c.local,
    reachable: c.reachable,
    hasEndpoints: c.hasEndpoints,
    hasInternalEndpoints: c.hasInternal,
    hasExternalEndpoints: c.hasExternal,
    externallyAccessible: c.externallyAccessible,
    externalPolicyLocal: c.externalLocal,
    internalChain: sp.internalPolicyLocal ? svl : svc,
    externalPolicyChain: c.externalLocal ? svl : svc,
  };
}

/**
 * The port's rules in the shared chains: where its addresses go in nat, and
 * in filter what is rejected (no endpoints at all) or dropped (Local policy,
 * none on this node) before it could be DNATed.
 */
function captureRules(filter: Chains, nat: Chains, v: PortView): void {
  const { sp, name, proto } = v;
  const none = !v.hasEndpoints;
  const filterTarget = none ? 'REJECT' : 'DROP';
  const filterComment = comment(none ? `${name} has no endpoints` : `${name} has no local endpoints`);
  const dport = (port: number) => `-m ${proto} --dport ${port}`;

  if (v.hasInternalEndpoints) {
    add(nat, 'KUBE-SERVICES', words(`-d ${host(sp.clusterIP)} -p ${proto}`, comment(`${name} cluster IP`), dport(sp.port), `-j ${v.internalChain}`));
  } else {
    add(filter, 'KUBE-SERVICES', words(`-d ${host(sp.clusterIP)} -p ${proto}`, filterComment, dport(sp.port), `-j ${filterTarget}`));
  }
  for (const ip of sp.loadBalancerIPs) {
    if (v.hasEndpoints) add(nat, 'KUBE-SERVICES', words(`-d ${host(ip)} -p ${proto}`, comment(`${name} loadbalancer IP`), dport(sp.port), `-j ${v.ext}`));
  }
  if (!v.hasExternalEndpoints) {
    for (const ip of sp.loadBalancerIPs) {
      add(filter, 'KUBE-EXTERNAL-SERVICES', words(`-d ${host(ip)} -p ${proto}`, filterComment, dport(sp.port), `-j ${filterTarget}`));
    }
  }
  if (sp.nodePort !== undefined) {
    if (v.hasEndpoints) add(nat, 'KUBE-NODEPORTS', words(`-p ${proto}`, comment(name), dport(sp.nodePort), `-j ${v.ext}`));
    if (!v.hasExternalEndpoints) {
      add(filter, 'KUBE-EXTERNAL-SERVICES', words(`-p ${proto}`, filterComment, '-m addrtype --dst-type LOCAL', dport(sp.nodePort), `-j ${filterTarget}`));
    }
  }
  if (sp.healthCheckNodePort !== undefined) {
    // Accepted whether or not this node has an endpoint: the answer itself says so.
    add(filter, 'KUBE-NODEPORTS', words('-p tcp', comment(`${name} health check node port`), `-m tcp --dport ${sp.healthCheckNodePort}`, '-j ACCEPT'));
  }
}

/** The EXT chain: external destinations, masqueraded (Cluster) or keeping the client IP where they can (Local). */
function externalRules(v: PortView, clusterCIDR: string): string[] {
  const tail = v.hasExternalEndpoints ? [`-j ${v.externalPolicyChain}`] : [];
  if (!v.externalPolicyLocal) return [words(comment(`masquerade traffic for ${v.name} external destinations`), `-j ${MARK_MASQ}`), ...tail];
  return [
    // Pods on this node reaching an external address behave as if through an outside load balancer: Cluster policy.
    clusterCIDR && words(`-s ${clusterCIDR}`, comment(`pod traffic for ${v.name} external destinations`), `-j ${v.svc}`),
    // The node itself would otherwise answer from its own (external) address to itself.
    words(comment(`masquerade LOCAL traffic for ${v.name} external destinations`), '-m addrtype --src-type LOCAL', `-j ${MARK_MASQ}`),
    words(comment(`route LOCAL traffic for ${v.name} external destinations`), '-m addrtype --src-type LOCAL', `-j ${v.svc}`),
    ...tail,
  ].filter((r): r is string => !!r);
}

/** Affinity checks first, then 1/n, 1/(n-1), ... so each endpoint gets 1/n; the last rule always matches. */
function dispatchRules(v: PortView, endpoints: ProxyEndpoint[], comments: boolean): string[] {
  const note = (ep: ProxyEndpoint) => comments && comment(`${v.name} -> ${joinHostPort(ep.ip, ep.port)}`);
  const seconds = v.sp.affinityTimeoutSeconds;
  const sticky =
    seconds === undefined ? [] : endpoints.map((ep) => words(note(ep), `-m recent --name ${v.sep(ep)} --rcheck --seconds ${seconds} --reap`, `-j ${v.sep(ep)}`));
  const spread = endpoints.map((ep, i) =>
    words(note(ep), i < endpoints.length - 1 && `-m statistic --mode random --probability ${iptablesProbability(endpoints.length - i)}`, `-j ${v.sep(ep)}`),
  );
  return [...sticky, ...spread];
}

/** The port's own chains (EXT, SVC, SVL, SEPs, in upstream's order), declared in `nat`; returns their names. */
function ownChains(nat: Chains, v: PortView, clusterCIDR: string, comments: boolean): string[] {
  const own = new Map<string, string[]>();
  const usesExt = v.hasEndpoints && v.externallyAccessible;
  if (usesExt) own.set(v.ext, externalRules(v, clusterCIDR));
  if (v.clusterEndpoints.length > 0) own.set(v.svc, dispatchRules(v, v.clusterEndpoints, comments));
  if (v.localEndpoints.length > 0) own.set(v.svl, dispatchRules(v, v.localEndpoints, comments));
  if (v.hasInternalEndpoints && clusterCIDR) {
    // ClusterIP traffic from outside the pod network may leave the node again: masquerade it.
    const { sp, proto } = v;
    own
      .get(v.internalChain)
      ?.unshift(words(`! -s ${clusterCIDR} -d ${host(sp.clusterIP)} -p ${proto}`, comment(`${v.name} cluster IP`), `-m ${proto} --dport ${sp.port}`, `-j ${MARK_MASQ}`));
  }
  for (const ep of v.reachable) {
    const note = comments && comment(v.name);
    const affinity = v.sp.affinityTimeoutSeconds !== undefined && `-m recent --name ${v.sep(ep)} --set`;
    own.set(v.sep(ep), [
      // A pod sent to itself through its Service must see the reply come from the Service: SNAT it.
      words(`-s ${host(ep.ip)}`, note, `-j ${MARK_MASQ}`),
      words(`-p ${v.proto}`, note, affinity, `-m ${v.proto} -j DNAT --to-destination ${joinHostPort(ep.ip, ep.port)}`),
    ]);
  }
  for (const [chain, rules] of own) nat.set(chain, rules);
  return [...own.keys()];
}

const portKey = (sp: ProxyServicePort) => `${servicePortName(sp)}/${sp.protocol}`;

/** What one service port adds: rules to the shared top-level chains, and chains of its own. */
interface PortPart {
  key: string;
  /** What it was cached under: the port and everything else its rules depend on. */
  cacheKey: string;
  filter: Chains;
  nat: Chains;
  own: Chains;
  ownNames: string[];
}

/**
 * Parts of the last sync, by everything a part depends on. A partial sync
 * then renders only the ports that changed, and an unchanged port is the
 * very same object in both inputs, so telling them apart costs nothing:
 * a one-endpoint change at thousands of services renders in milliseconds.
 */
interface NodeCache {
  parts: Map<string, PortPart>;
  /** The last input rendered and its result: the agent passes that very object as `previous` next time. */
  last?: { input: ProxyNodeInput; rendered: ReturnType<typeof renderAll> };
}
/**
 * What a caller keeps between syncs so a partial sync renders only what
 * changed: by node, as each node sees its own endpoints as local. The proxy
 * controller owns one; without it a render starts from nothing (the result
 * is the same, only slower).
 */
export class IptablesMemo {
  readonly nodes = new Map<string, NodeCache>();
}

function renderPort(sp: ProxyServicePort, clusterCIDR: string, comments: boolean, cacheKey: string): PortPart {
  const filter: Chains = new Map(FILTER_TOP.map((c) => [c, []]));
  const nat: Chains = new Map(NAT_TOP.map((c) => [c, []]));
  const v = viewOf(sp);
  captureRules(filter, nat, v);
  const own: Chains = new Map();
  for (const chain of ownChains(nat, v, clusterCIDR, comments)) {
    own.set(chain, nat.get(chain)!);
    nat.delete(chain);
  }
  return { key: portKey(sp), cacheKey, filter, nat, own, ownNames: [...own.keys()] };
}

function append(to: string[], rules: string[]): void {
  for (const r of rules) to.push(r);
}

function renderAll(input: ProxyNodeInput, cache: Map<string, PortPart>, keep: Map<string, PortPart>): Rendered & { parts: Map<string, PortPart> } {
  const mark = `0x${(1 << input.masqueradeBit).toString(16)}`;
  const comments = input.services.reduce((n, sp) => n + sp.endpoints.length, 0) <= LARGE_CLUSTER_ENDPOINTS;
  const filter: Chains = new Map(FILTER_TOP.map((c) => [c, []]));
  const nat: Chains = new Map(NAT_TOP.map((c) => [c, []]));
  const owned = new Map<string, string[]>();
  const parts = new Map<string, PortPart>();

  add(nat, 'KUBE-POSTROUTING', `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Cleared so a packet that goes through the stack again is not masqueraded twice.
  add(nat, 'KUBE-POSTROUTING', `-j MARK --xor-mark ${mark}`);
  add(nat, 'KUBE-POSTROUTING', words(comment('kubernetes service traffic requiring SNAT'), '-j MASQUERADE --random-fully'));
  add(nat, MARK_MASQ, `-j MARK --or-mark ${mark}`);
  // route_localnet=1 (NodePorts on 127.0.0.1) would let others reach the node's loopback services.
  add(filter, 'KUBE-FIREWALL', words('! -s 127.0.0.0/8 -d 127.0.0.0/8', comment('block incoming localnet connections'), '-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP'));

  const context = `${input.clusterCIDR}|${comments}|`;
  for (const sp of input.services) {
    const cacheKey = context + JSON.stringify(sp);
    const part = cache.get(cacheKey) ?? renderPort(sp, input.clusterCIDR, comments, cacheKey);
    keep.set(cacheKey, part);
    parts.set(part.key, part);
    for (const [c, rules] of part.filter) if (rules.length) append(filter.get(c)!, rules);
    for (const [c, rules] of part.nat) if (rules.length) append(nat.get(c)!, rules);
    for (const [c, rules] of part.own) nat.set(c, rules);
    owned.set(part.key, part.ownNames);
  }

  add(nat, 'KUBE-SERVICES', words(comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain'), '-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'));
  add(filter, 'KUBE-FORWARD', '-m conntrack --ctstate INVALID -j DROP');
  // Lets NodePort traffic through whatever the FORWARD policy is.
  add(filter, 'KUBE-FORWARD', words(comment('kubernetes forwarding rules'), `-m mark --mark ${mark}/${mark} -j ACCEPT`));
  add(filter, 'KUBE-FORWARD', words(comment('kubernetes forwarding conntrack rule'), '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'));
  return { filter, nat, owned, parts };
}

/** The chains a sync of `input` owns, per table, in declaration order. */
export function iptablesChainsOf(input: ProxyNodeInput): { filter: string[]; nat: string[] } {
  const r = renderAll(input, new Map(), new Map());
  return { filter: [...r.filter.keys()], nat: [...r.nat.keys()] };
}

/** Declares `written` and `deleted` (flushing both), fills `written`, deletes `deleted`. */
function tableText(table: string, chains: Chains, written: string[], deleted: string[]): string[] {
  return [
    `*${table}`,
    ...[...written, ...deleted].map((c) => `:${c} - [0:0]`),
    ...written.flatMap((c) => (chains.get(c) ?? []).map((rule) => `-A ${c} ${rule}`)),
    ...deleted.map((c) => `-X ${c}`),
    'COMMIT',
  ];
}

const sameRules = (a: string[] | undefined, b: string[] | undefined) => a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((r, i) => r === b[i]));

/** Whether a port's own chains differ between two renders (the same cached part never does). */
function portChanged(a: PortPart | undefined, b: PortPart): boolean {
  if (a === b) return false;
  if (!a || a.own.size !== b.own.size) return true;
  for (const [c, rules] of b.own) if (!sameRules(a.own.get(c), rules)) return true;
  return false;
}

type Render = ReturnType<typeof renderAll>;

const sameChains = (a: Chains | undefined, b: Chains | undefined) => {
  if (!a || !b) return a === b;
  for (const [c, rules] of b) if (!sameRules(a.get(c), rules)) return false;
  return true;
};

/**
 * The render of `input` built from `before` when no port's rules in the
 * shared top-level chains changed (an endpoint change, a readiness flip):
 * only the changed ports' own chains are swapped, so the cost follows the
 * size of the change, not of the node. Undefined when a full assembly is needed.
 */
function patchRender(before: Render, previous: ProxyNodeInput, input: ProxyNodeInput, cache: Map<string, PortPart>, keep: Map<string, PortPart>): Patched | undefined {
  const comments = input.services.reduce((n, sp) => n + sp.endpoints.length, 0) <= LARGE_CLUSTER_ENDPOINTS;
  const wasComments = previous.services.reduce((n, sp) => n + sp.endpoints.length, 0) <= LARGE_CLUSTER_ENDPOINTS;
  if (comments !== wasComments || input.clusterCIDR !== previous.clusterCIDR || input.masqueradeBit !== previous.masqueradeBit) return undefined;
  const context = `${input.clusterCIDR}|${comments}|`;
  const oldList = [...before.parts.values()];
  const moved = oldList.length === input.services.length ? portsChangedInPlace(previous.services, input.services) : undefined;
  if (moved) return patchInPlace(before, input, moved, oldList, context, comments, cache);
  const parts = new Map<string, PortPart>();
  input.services.forEach((sp, i) => {
    // A port equal to the one at the same place last time keeps its part: no key to build, nothing to render.
    const old = oldList[i];
    const was = previous.services[i];
    const reused = old && was && sameServicePort(sp, was) ? old : undefined;
    const cacheKey = reused?.cacheKey ?? context + JSON.stringify(sp);
    const part = reused ?? cache.get(cacheKey) ?? renderPort(sp, input.clusterCIDR, comments, cacheKey);
    keep.set(cacheKey, part);
    parts.set(part.key, part);
  });
  // Same ports in the same order, each with the same top-level rules: the shared chains are unchanged.
  if (parts.size !== before.parts.size) return undefined;
  const oldParts = before.parts.values();
  const changed: [PortPart, PortPart][] = [];
  for (const [key, part] of parts) {
    const old = oldParts.next().value as PortPart;
    if (old.key !== key) return undefined;
    if (old === part) continue;
    if (!sameChains(old.filter, part.filter) || !sameChains(old.nat, part.nat)) return undefined;
    changed.push([old, part]);
  }
  return swapOwnChains(before, parts, changed, keep);
}

/** The chains each changed port owns, swapped into `before`'s nat table: `before` is the last render of this node and is replaced by this one, so its maps are taken over, not copied. */
function swapOwnChains(before: Render, parts: Map<string, PortPart>, changed: [PortPart, PortPart][], keep: Map<string, PortPart>): Patched {
  const { nat, owned } = before;
  const stale: string[] = [];
  for (const [old, part] of changed) {
    for (const c of old.own.keys()) if (!part.own.has(c)) stale.push(c);
    for (const c of old.own.keys()) nat.delete(c);
    for (const [c, rules] of part.own) nat.set(c, rules);
    owned.set(part.key, part.ownNames);
  }
  return { render: { filter: before.filter, nat, owned, parts }, changed: changed.map(([, p]) => p.key), stale, keep };
}

/**
 * patchRender when every port is where it was: only the changed places are
 * rendered and swapped, in the last render's maps and the cache themselves,
 * so an endpoint change costs the same at 50 or 5,000 services.
 */
function patchInPlace(before: Render, input: ProxyNodeInput, places: number[], oldList: PortPart[], context: string, comments: boolean, cache: Map<string, PortPart>): Patched | undefined {
  const changed: [PortPart, PortPart][] = [];
  for (const i of places) {
    const sp = input.services[i]!;
    const old = oldList[i]!;
    const cacheKey = context + JSON.stringify(sp);
    const part = cache.get(cacheKey) ?? renderPort(sp, input.clusterCIDR, comments, cacheKey);
    // A change that reaches the shared chains (a new ClusterIP, a NodePort) needs the full assembly.
    if (part.key !== old.key || !sameChains(old.filter, part.filter) || !sameChains(old.nat, part.nat)) return undefined;
    changed.push([old, part]);
  }
  for (const [old, part] of changed) {
    // Same key: the port keeps its place in the map's order.
    before.parts.set(part.key, part);
    cache.delete(old.cacheKey);
    cache.set(part.cacheKey, part);
  }
  return swapOwnChains(before, before.parts, changed, cache);
}

interface Patched {
  render: Render;
  /** The parts this render used, for the next one. */
  keep: Map<string, PortPart>;
  /** Keys of the ports whose own chains changed. */
  changed: string[];
  /** Chains no port owns any more. */
  stale: string[];
}

/**
 * One sync of one node. Without `previous` (first sync, or after a failed
 * one) every chain is written; with the input of the last applied sync only
 * what changed is: top-level chains whose rules differ (an endpoint change
 * leaves KUBE-SERVICES alone), the chains of changed ports, and deletions of
 * chains no longer owned. The result equals a full sync.
 */
export function renderIptablesSync(input: ProxyNodeInput, previous?: ProxyNodeInput, memo: IptablesMemo = new IptablesMemo()): string {
  const cache = memo.nodes.get(input.node) ?? { parts: new Map<string, PortPart>() };
  const keep = new Map<string, PortPart>();
  const reuse = previous !== undefined && cache.last?.input === previous;
  const before = previous && (reuse ? cache.last!.rendered : renderAll(previous, cache.parts, new Map()));
  const patched = reuse && before ? patchRender(before, previous, input, cache.parts, keep) : undefined;
  const next = patched?.render ?? renderAll(input, cache.parts, keep);
  memo.nodes.set(input.node, { parts: patched?.keep ?? keep, last: { input, rendered: next } });
  if (patched) {
    // Nothing shared changed: only the changed ports' chains, and the chains they no longer own.
    const written = patched.changed.flatMap((key) => next.owned.get(key) ?? []);
    return [...tableText('filter', next.filter, [], []), ...tableText('nat', next.nat, written, patched.stale), ''].join('\n');
  }
  let filterWritten = [...next.filter.keys()];
  let natWritten = [...next.nat.keys()];
  let stale: string[] = [];
  if (before) {
    filterWritten = filterWritten.filter((c) => !sameRules(before.filter.get(c), next.filter.get(c)));
    const changed = [...next.parts].filter(([key, part]) => portChanged(before.parts.get(key), part)).map(([key]) => key);
    natWritten = [...NAT_TOP.filter((c) => !sameRules(before.nat.get(c), next.nat.get(c))), ...changed.flatMap((key) => next.owned.get(key) ?? [])];
    stale = [...before.nat.keys()].filter((c) => !next.nat.has(c));
  }
  return [...tableText('filter', next.filter, filterWritten, []), ...tableText('nat', next.nat, natWritten, stale), ''].join('\n');
}

interface Jump {
  table: 'filter' | 'nat';
  chain: string;
  from: string;
  comment?: string;
  /** Only the first packet of a connection needs the check. */
  newOnly?: boolean;
}

/** Upstream's jump list (then kubelet's KUBE-FIREWALL jumps it also ensures), each prepended in this order. */
const JUMPS: Jump[] = [
  { table: 'filter', chain: 'KUBE-EXTERNAL-SERVICES', from: 'INPUT', comment: 'kubernetes externally-visible service portals', newOnly: true },
  { table: 'filter', chain: 'KUBE-EXTERNAL-SERVICES', from: 'FORWARD', comment: 'kubernetes externally-visible service portals', newOnly: true },
  { table: 'filter', chain: 'KUBE-NODEPORTS', from: 'INPUT', comment: 'kubernetes health check service ports' },
  { table: 'filter', chain: 'KUBE-SERVICES', from: 'FORWARD', comment: 'kubernetes service portals', newOnly: true },
  { table: 'filter', chain: 'KUBE-SERVICES', from: 'OUTPUT', comment: 'kubernetes service portals', newOnly: true },
  { table: 'filter', chain: 'KUBE-FORWARD', from: 'FORWARD', comment: 'kubernetes forwarding rules' },
  { table: 'filter', chain: 'KUBE-PROXY-FIREWALL', from: 'INPUT', comment: 'kubernetes load balancer firewall', newOnly: true },
  { table: 'filter', chain: 'KUBE-PROXY-FIREWALL', from: 'OUTPUT', comment: 'kubernetes load balancer firewall', newOnly: true },
  { table: 'filter', chain: 'KUBE-PROXY-FIREWALL', from: 'FORWARD', comment: 'kubernetes load balancer firewall', newOnly: true },
  { table: 'nat', chain: 'KUBE-SERVICES', from: 'OUTPUT', comment: 'kubernetes service portals' },
  { table: 'nat', chain: 'KUBE-SERVICES', from: 'PREROUTING', comment: 'kubernetes service portals' },
  { table: 'nat', chain: 'KUBE-POSTROUTING', from: 'POSTROUTING', comment: 'kubernetes postrouting rules' },
  { table: 'filter', chain: 'KUBE-FIREWALL', from: 'INPUT' },
  { table: 'filter', chain: 'KUBE-FIREWALL', from: 'OUTPUT' },
];

/**
 * Once per fresh node: the chains the built-in chains jump to, those jumps,
 * and the canary chains. Jumps are inserted at the top (`-I`) in upstream's
 * order, so the built-in chains end up as on a node kube-proxy started on.
 */
export function renderIptablesBootstrap(): string {
  const lines: string[] = [];
  for (const table of ['mangle', 'filter', 'nat'] as const) {
    const jumps = JUMPS.filter((j) => j.table === table);
    const chains = [...new Set(jumps.map((j) => j.chain)), CANARY];
    lines.push(`*${table}`, ...chains.map((c) => `:${c} - [0:0]`));
    for (const j of jumps) lines.push(words(`-I ${j.from}`, j.newOnly && '-m conntrack --ctstate NEW', j.comment && comment(j.comment), `-j ${j.chain}`));
    lines.push('COMMIT');
  }
  return [...lines, ''].join('\n');
}
