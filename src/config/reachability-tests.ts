/**
 * `kube-netlab.dev/v1alpha1` ReachabilityTest documents: their shape and
 * values. Whether the pods, namespaces, ports and Services they name exist
 * is checked against the whole plan (reachability/resolve.ts), since the
 * add-ons' pods only exist there.
 */
import type { SourceRef } from '../spec/lab.js';
import type { PolicyProtocol } from '../spec/network-policy.js';
import type { ReachExpectSpec, ReachPeerSpec, ReachPortSpec, ReachabilityTestSpec, Result, Via } from '../spec/reachability.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { readLabelSelector } from './label-selectors.js';
import { labelProblem, portNameProblem, subdomainProblem } from './names.js';

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const SPEC_FIELDS = ['via', 'ports', 'from', 'to', 'default', 'expect'];
const VIAS: readonly Via[] = ['pod', 'service'];
const RESULTS: readonly Result[] = ['allowed', 'blocked'];
const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];
const PEER_EXAMPLE = '{pod: NAMESPACE/NAME}, {namespace: NAME}, {podSelector: ..., namespaceSelector: ...} or {external: external}';

function readPeer(c: Cursor, where: string, r: Reader): ReachPeerSpec | undefined {
  if (!r.map(c, where)) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} must be a mapping: ${PEER_EXAMPLE}`);
    return undefined;
  }
  r.strict(c, ['pod', 'namespace', 'podSelector', 'namespaceSelector', 'external'], where);
  const keys = c.keys();
  const plain = keys.filter((k) => k === 'pod' || k === 'namespace' || k === 'external');
  const selectors = keys.filter((k) => k === 'podSelector' || k === 'namespaceSelector');
  if (plain.length + (selectors.length ? 1 : 0) > 1) {
    r.add('bad-value', c.ref, `${where} mixes ${[...plain, ...selectors].join(' and ')}; a peer is exactly one of ${PEER_EXAMPLE}`);
    return undefined;
  }
  const source = c.ref;
  if (plain[0] === 'pod') {
    const text = r.string(c.get('pod'), `${where}.pod`);
    if (text === undefined) return undefined;
    const [namespace, name, extra] = text.split('/');
    const problem =
      name === undefined || extra !== undefined || !namespace ? `${where}.pod '${text}' must be written NAMESPACE/NAME, e.g. shop/api-7d9f2` : (labelProblem(namespace, `${where}.pod namespace`) ?? labelProblem(name, `${where}.pod name`));
    if (problem) {
      r.add('bad-value', c.get('pod').ref, problem);
      return undefined;
    }
    return { kind: 'pod', namespace: namespace!, name: name!, source };
  }
  if (plain[0] === 'namespace') {
    const namespace = r.string(c.get('namespace'), `${where}.namespace`);
    const problem = namespace === undefined ? undefined : labelProblem(namespace, `${where}.namespace`);
    if (problem) r.add('bad-name', c.get('namespace').ref, problem);
    return namespace === undefined || problem ? undefined : { kind: 'namespace', namespace, source };
  }
  if (plain[0] === 'external') {
    const name = r.string(c.get('external'), `${where}.external`);
    return name === undefined ? undefined : { kind: 'external', name, source };
  }
  const before = r.problems.length;
  const podSelector = keys.includes('podSelector') ? readLabelSelector(c.get('podSelector'), `${where}.podSelector`, r) : undefined;
  const namespaceSelector = keys.includes('namespaceSelector') ? readLabelSelector(c.get('namespaceSelector'), `${where}.namespaceSelector`, r) : undefined;
  if (r.problems.length > before) return undefined;
  return { kind: 'selector', ...(podSelector ? { podSelector } : {}), ...(namespaceSelector ? { namespaceSelector } : {}), source };
}

/** `absent`: what leaving the list out means, for the message about an empty one. */
function readPorts(c: Cursor, where: string, r: Reader, absent: string): ReachPortSpec[] | undefined {
  if (!c.exists) return undefined;
  const items = r.list(c, where);
  if (items.length === 0 && c.isSeq) r.add('bad-value', c.ref, `${where} is empty; leave it out to mean ${absent}`);
  const out: ReachPortSpec[] = [];
  for (const p of items) {
    if (!r.map(p, `${where}[]`)) {
      if (!p.exists) r.add('bad-value', p.ref, `${where} entries must be mappings such as {port: 80, protocol: TCP}`);
      continue;
    }
    r.strict(p, ['port', 'protocol'], `${where}[]`);
    if (!r.required(p.get('port'), `${where}[].port`, ', a number or a container port name')) continue;
    const portC = p.get('port');
    let port: number | string | undefined;
    if (typeof portC.value === 'string') {
      port = portC.value;
      const problem = portNameProblem(port, `${where}[].port`);
      if (problem) {
        r.add('bad-value', portC.ref, problem);
        port = undefined;
      }
    } else port = r.integer(portC, `${where}[].port`, 1, 65535);
    const protocol = r.oneOf(p.get('protocol'), `${where}[].protocol`, PROTOCOLS) ?? 'TCP';
    if (port === undefined) continue;
    const twice = out.find((o) => o.port === port && o.protocol === protocol);
    if (twice) r.add('duplicate', p.ref, `${where}: ${port}/${protocol} is listed twice (first at line ${twice.source.line})`);
    else out.push({ port, protocol, source: p.ref });
  }
  return out;
}

function readExpect(c: Cursor, where: string, r: Reader): ReachExpectSpec | undefined {
  if (!r.map(c, where)) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings such as {from: {namespace: y}, to: {pod: x/a}, result: blocked}`);
    return undefined;
  }
  r.strict(c, ['from', 'to', 'ports', 'result'], where);
  if (!r.required(c.get('result'), `${where}.result`, `: ${RESULTS.join(' or ')}`)) return undefined;
  const result = r.oneOf(c.get('result'), `${where}.result`, RESULTS);
  const from = c.get('from').exists ? readPeer(c.get('from'), `${where}.from`, r) : undefined;
  const to = c.get('to').exists ? readPeer(c.get('to'), `${where}.to`, r) : undefined;
  const ports = readPorts(c.get('ports'), `${where}.ports`, r, 'every port of the test');
  if (result === undefined || (c.get('from').exists && !from) || (c.get('to').exists && !to)) return undefined;
  return { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(ports ? { ports } : {}), result, source: c.ref };
}

function readPeers(c: Cursor, where: string, r: Reader): ReachPeerSpec[] | undefined {
  if (!c.exists) return undefined;
  const items = r.list(c, where);
  if (items.length === 0 && c.isSeq) r.add('bad-value', c.ref, `${where} is empty; leave it out to mean every pod of the lab's own namespaces`);
  return items.map((p, i) => readPeer(p, `${where}[${i}]`, r)).filter((p): p is ReachPeerSpec => p !== undefined);
}

export function readReachabilityTest(doc: Cursor, r: Reader): ReachabilityTestSpec | undefined {
  r.strict(doc, TOP_FIELDS, 'a ReachabilityTest');
  const meta = doc.get('metadata');
  if (!r.map(meta, 'ReachabilityTest metadata') || !r.required(meta.get('name'), 'ReachabilityTest metadata.name')) {
    if (!meta.exists) r.add('missing-field', doc.ref, 'ReachabilityTest needs metadata.name');
    return undefined;
  }
  r.strict(meta, ['name', 'labels', 'annotations'], 'ReachabilityTest metadata');
  const name = r.string(meta.get('name'), 'ReachabilityTest metadata.name');
  const nameProblem = name === undefined ? undefined : subdomainProblem(name, 'ReachabilityTest name');
  if (nameProblem) r.add('bad-name', meta.get('name').ref, nameProblem);
  if (name === undefined || nameProblem) return undefined;
  const what = `ReachabilityTest ${name}`;
  const spec = doc.get('spec');
  if (!r.map(spec, `${what}: spec`)) {
    if (!spec.exists) r.add('missing-field', doc.ref, `${what} needs a spec, e.g. spec: {default: allowed, expect: [{from: {namespace: y}, to: {namespace: x}, result: blocked}]}`);
    return undefined;
  }
  r.strict(spec, SPEC_FIELDS, `${what}: spec`);
  const before = r.problems.length;
  const via = r.oneOf(spec.get('via'), `${what}: spec.via`, VIAS) ?? 'pod';
  const result = r.oneOf(spec.get('default'), `${what}: spec.default`, RESULTS) ?? 'allowed';
  const ports = readPorts(spec.get('ports'), `${what}: spec.ports`, r, "each target's declared ports");
  const from = readPeers(spec.get('from'), `${what}: spec.from`, r);
  const to = readPeers(spec.get('to'), `${what}: spec.to`, r);
  const expect = r.list(spec.get('expect'), `${what}: spec.expect`).map((e, i) => readExpect(e, `${what}: spec.expect[${i}]`, r));
  if (r.problems.length > before) return undefined;
  return {
    name,
    via,
    ...(ports ? { ports } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    default: result,
    expect: expect as ReachExpectSpec[],
    source: doc.ref,
  };
}

/** Two tests with one name would give two sets of cells under one name in every report. */
export function checkReachabilityTests(tests: ReachabilityTestSpec[], r: Reader): void {
  const seen = new Map<string, SourceRef>();
  for (const t of tests) {
    const first = seen.get(t.name);
    if (first) r.add('duplicate', t.source, `ReachabilityTest ${t.name} is declared twice (first at ${first.file}:${first.line})`);
    else seen.set(t.name, t.source);
  }
}
