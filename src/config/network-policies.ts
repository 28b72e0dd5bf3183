/**
 * `networking.k8s.io/v1` NetworkPolicy, validated as the API server's
 * ValidateNetworkPolicySpec does: peers with at least one selector or an
 * ipBlock (never both), ipBlock `except` strictly inside `cidr`, ports with
 * a protocol of TCP/UDP/SCTP, a number or a port name, and `endPort` only
 * after a numeric port it does not undercut; `policyTypes` defaulted as the
 * API server defaults it.
 */
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange, Validator } from '../util/ip-num.js';
import type { SourceRef } from '../spec/lab.js';
import type { IPBlockSpec, NetworkPolicySpec, PolicyPeerSpec, PolicyPortSpec, PolicyProtocol, PolicyRuleSpec, PolicyType } from '../spec/network-policy.js';
import { policyKey } from '../spec/network-policy.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { readLabelSelector } from './label-selectors.js';
import { portNameProblem, subdomainProblem } from './names.js';
import type { Notices } from './notices.js';
import { readMeta, type WorkloadContext } from './workloads.js';

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = ['podSelector', 'policyTypes', 'ingress', 'egress'];
const POLICY_TYPES: readonly PolicyType[] = ['Ingress', 'Egress'];
const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];

export interface ReadPolicyContext extends WorkloadContext {
  notices: Notices;
}

type Block = { cidr: string; family: 4; range: IPv4CidrRange; hostBits: boolean } | { cidr: string; family: 6; range: IPv6CidrRange; hostBits: boolean };

/** A CIDR of either family, host bits cleared (`hostBits` says whether any were set); a problem string when it is none. */
function parseBlock(text: unknown, where: string): Block | string {
  if (typeof text !== 'string') return `${where} must be a CIDR such as 203.0.113.0/24, not ${JSON.stringify(text)}`;
  const address = text.split('/')[0]!;
  if (Validator.isValidIPv4CidrNotation(text)[0]) {
    const range = IPv4CidrRange.fromCidr(text);
    const hostBits = IPv4.fromString(address).getValue() !== range.getFirst().getValue();
    return { cidr: `${range.getFirst().toString()}/${range.getPrefix().getValue()}`, family: 4, range, hostBits };
  }
  if (Validator.isValidIPv6CidrNotation(text)[0]) {
    const range = IPv6CidrRange.fromCidr(text);
    const hostBits = IPv6.fromString(address).getValue() !== range.getFirst().getValue();
    return { cidr: hostBits ? `${range.getFirst().toString()}/${range.getPrefix().getValue()}` : text, family: 6, range, hostBits };
  }
  return `${where} '${text}' is not a CIDR; write a network such as 203.0.113.0/24 (or an IPv6 one such as 2001:db8::/32)`;
}

function readIPBlock(c: Cursor, where: string, r: Reader, notices: Notices, what: string): IPBlockSpec | undefined {
  if (!r.map(c, where)) return undefined;
  r.strict(c, ['cidr', 'except'], where);
  if (!r.required(c.get('cidr'), `${where}.cidr`, ', e.g. cidr: 203.0.113.0/24')) return undefined;
  const block = parseBlock(c.get('cidr').value, `${where}.cidr`);
  if (typeof block === 'string') {
    r.add('bad-value', c.get('cidr').ref, block);
    return undefined;
  }
  if (block.hostBits) notices.about(what, c.get('cidr').ref, `${where}.cidr ${String(c.get('cidr').value)} has host bits set; it is read as the network ${block.cidr}, as the API server reads it`);
  const except: string[] = [];
  let ok = true;
  for (const e of r.list(c.get('except'), `${where}.except`)) {
    const x = parseBlock(e.value, `${where}.except[]`);
    if (typeof x === 'string') {
      r.add('bad-value', e.ref, x);
      ok = false;
      continue;
    }
    // The API server wants every exception strictly inside the block, of the same family.
    const inside = x.cidr !== block.cidr && (x.family === 4 && block.family === 4 ? block.range.contains(x.range) : x.family === 6 && block.family === 6 && block.range.contains(x.range));
    if (!inside) {
      r.add('bad-value', e.ref, `${where}.except: ${String(e.value)} must be strictly inside cidr ${block.cidr}`);
      ok = false;
      continue;
    }
    except.push(x.cidr);
  }
  if (block.family === 6) notices.about(what, c.ref, `${where} ${block.cidr} is IPv6; the lab's network is IPv4 only, so it matches nothing here`);
  return ok ? { cidr: block.cidr, except, family: block.family } : undefined;
}

function readPeer(c: Cursor, where: string, r: Reader, notices: Notices, what: string): PolicyPeerSpec | undefined {
  if (!r.map(c, where)) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings such as {podSelector: {matchLabels: {app: web}}}`);
    return undefined;
  }
  r.strict(c, ['podSelector', 'namespaceSelector', 'ipBlock'], where);
  const present = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => c.get(k).exists || c.keys().includes(k));
  if (present.length === 0) {
    r.add('missing-field', c.ref, `${where} must specify a peer: podSelector, namespaceSelector (both in one element means AND) or ipBlock`);
    return undefined;
  }
  if (present.includes('ipBlock') && present.length > 1) {
    r.add('bad-value', c.keyRef('ipBlock'), `${where} may not combine ipBlock with ${present.filter((k) => k !== 'ipBlock').join(' and ')}; write them as separate peers (separate peers are OR-ed)`);
    return undefined;
  }
  const peer: PolicyPeerSpec = {};
  const before = r.problems.length;
  if (present.includes('podSelector')) peer.podSelector = readLabelSelector(c.get('podSelector'), `${where}.podSelector`, r);
  if (present.includes('namespaceSelector')) peer.namespaceSelector = readLabelSelector(c.get('namespaceSelector'), `${where}.namespaceSelector`, r);
  if (present.includes('ipBlock')) peer.ipBlock = readIPBlock(c.get('ipBlock'), `${where}.ipBlock`, r, notices, what);
  return r.problems.length > before ? undefined : peer;
}

function readPort(c: Cursor, where: string, r: Reader): PolicyPortSpec | undefined {
  if (!r.map(c, where)) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings such as {protocol: TCP, port: 80}`);
    return undefined;
  }
  r.strict(c, ['protocol', 'port', 'endPort'], where);
  const before = r.problems.length;
  const protocol = r.oneOf(c.get('protocol'), `${where}.protocol`, PROTOCOLS) ?? 'TCP';
  const portC = c.get('port');
  let port: number | string | undefined;
  if (typeof portC.value === 'string') {
    port = portC.value;
    const problem = portNameProblem(port, `${where}.port`);
    if (problem) r.add('bad-value', portC.ref, `${problem}; it names a container port of the destination pods`);
  } else port = r.integer(portC, `${where}.port`, 1, 65535);
  const endC = c.get('endPort');
  const endPort = r.integer(endC, `${where}.endPort`, 1, 65535);
  if (endC.exists) {
    if (!portC.exists) r.add('bad-value', endC.ref, `${where}.endPort needs a numeric port: it ends the range port..endPort`);
    else if (typeof port === 'string') r.add('bad-value', endC.ref, `${where}.endPort cannot follow a named port ('${port}'); give port a number`);
    else if (typeof port === 'number' && endPort !== undefined && endPort < port) r.add('bad-value', endC.ref, `${where}.endPort ${endPort} must be equal to or greater than port ${port}`);
  }
  if (r.problems.length > before) return undefined;
  return { protocol, ...(port !== undefined ? { port } : {}), ...(endPort !== undefined ? { endPort } : {}) };
}

function readRule(c: Cursor, where: string, peersKey: 'from' | 'to', r: Reader, notices: Notices, what: string): PolicyRuleSpec | undefined {
  if (!r.map(c, where)) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings with ${peersKey} and ports (an empty one, {}, admits everything)`);
    return undefined;
  }
  r.strict(c, [peersKey, 'ports'], where);
  const peers = r.list(c.get(peersKey), `${where}.${peersKey}`).map((p, i) => readPeer(p, `${where}.${peersKey}[${i}]`, r, notices, what));
  const ports = r.list(c.get('ports'), `${where}.ports`).map((p, i) => readPort(p, `${where}.ports[${i}]`, r));
  if (peers.some((p) => p === undefined) || ports.some((p) => p === undefined)) return undefined;
  return { peers: peers as PolicyPeerSpec[], ports: ports as PolicyPortSpec[] };
}

function readRules(spec: Cursor, key: 'ingress' | 'egress', what: string, r: Reader, notices: Notices): PolicyRuleSpec[] | undefined {
  const peersKey = key === 'ingress' ? 'from' : 'to';
  const rules = r.list(spec.get(key), `${what}: spec.${key}`).map((c, i) => readRule(c, `${key}[${i}]`, peersKey, r, notices, what));
  return rules.some((x) => x === undefined) ? undefined : (rules as PolicyRuleSpec[]);
}

function readPolicyTypes(spec: Cursor, what: string, r: Reader, hasEgress: boolean): PolicyType[] | undefined {
  const c = spec.get('policyTypes');
  // The API server's defaulting: Ingress always, Egress only with egress rules.
  if (!c.exists) return hasEgress ? ['Ingress', 'Egress'] : ['Ingress'];
  const items = r.list(c, `${what}: spec.policyTypes`);
  if (items.length > 2) r.add('bad-value', c.ref, `${what}: spec.policyTypes has ${items.length} entries; at most 2 (Ingress, Egress)`);
  const types: PolicyType[] = [];
  for (const t of items) {
    const v = r.oneOf(t, `${what}: spec.policyTypes[]`, POLICY_TYPES);
    if (v !== undefined && !types.includes(v)) types.push(v);
  }
  return types;
}

export function readNetworkPolicy(doc: Cursor, ctx: ReadPolicyContext): NetworkPolicySpec | undefined {
  const { r, notices } = ctx;
  const meta = readMeta(doc, 'NetworkPolicy', ctx, subdomainProblem);
  r.strict(doc, TOP_FIELDS, 'a NetworkPolicy');
  if (!meta) return undefined;
  const what = `NetworkPolicy ${policyKey(meta)}`;
  const spec = doc.get('spec');
  if (!r.map(spec, `${what}: spec`)) {
    if (!spec.exists) r.add('missing-field', doc.ref, `${what} needs a spec, e.g. spec: {podSelector: {}, policyTypes: [Ingress]} (which isolates every pod of its namespace)`);
    return undefined;
  }
  r.strict(spec, SPEC_FIELDS, `${what}: spec`);
  const before = r.problems.length;
  const podSelector = readLabelSelector(spec.get('podSelector'), `${what}: spec.podSelector`, r);
  const ingress = readRules(spec, 'ingress', what, r, notices);
  const egress = readRules(spec, 'egress', what, r, notices);
  const policyTypes = readPolicyTypes(spec, what, r, (egress?.length ?? 0) > 0);
  if (r.problems.length > before || !podSelector || !ingress || !egress || !policyTypes) return undefined;
  // Valid for the API server, but rules of a type the policy does not have are never enforced: say so.
  for (const [type, rules] of [['Ingress', ingress], ['Egress', egress]] as const) {
    if (rules.length > 0 && !policyTypes.includes(type)) {
      notices.about(what, spec.keyRef(type.toLowerCase()), `its ${type.toLowerCase()} rules have no effect: policyTypes [${policyTypes.join(', ')}] does not include ${type}`);
    }
  }
  return { namespace: meta.namespace, name: meta.name, podSelector, policyTypes, ingress, egress, labels: meta.labels, source: meta.source };
}

/** Two policies with one name in one namespace: the second is refused, as the API server would refuse to create it. */
export function checkNetworkPolicies(policies: NetworkPolicySpec[], r: Reader): void {
  const seen = new Map<string, SourceRef>();
  for (const p of policies) {
    const key = policyKey(p);
    const first = seen.get(key);
    if (first) r.add('duplicate', p.source, `NetworkPolicy ${key} is declared twice (first at ${first.file}:${first.line})`);
    else seen.set(key, p.source);
  }
}
