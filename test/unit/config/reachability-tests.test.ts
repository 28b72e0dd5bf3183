/**
 * The ReachabilityTest reader (config/reachability-tests.ts): every field,
 * the defaults, each problem at its line, duplicates, and how the document's
 * apiVersion and kind are classified. Whether what a test names exists is
 * resolve's business (test/unit/reachability/resolve.test.ts).
 */
import t from 'tap';
import { codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

const NS = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}`;
const HEAD = ['apiVersion: kube-netlab.dev/v1alpha1', 'kind: ReachabilityTest'];
/** A ReachabilityTest document; `spec` lines are indented under `spec:` here. */
const rt = (name: string, spec: string[], head = HEAD) => [...head, `metadata: {name: ${name}}`, 'spec:', ...spec.map((l) => `  ${l}`)].join('\n');
const doc = (...docs: string[]) => [lab(), NS('x'), ...docs].join('\n---\n');

/** The value without its `source` fields, at any depth. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'source').map(([k, x]) => [k, strip(x)]));
  return v;
}
const lineAt = (v: { source: { line: number } }) => v.source.line;
const sel = (matchLabels: Record<string, string>, matchExpressions: unknown[] = []) => ({ matchLabels, matchExpressions });

t.test('a test with every field', async (t) => {
  const text = doc(
    rt('every.field', [
      'via: service',
      'ports:',
      '  - {port: 80}',
      '  - {port: serve-81-udp, protocol: UDP}',
      '  - {port: 9, protocol: SCTP}',
      'from:',
      '  - {pod: x/a}',
      '  - {namespace: y}',
      '  - {podSelector: {matchLabels: {pod: b}}, namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [z]}]}}',
      '  - {external: external}',
      'to:',
      '  - {podSelector: {matchLabels: {pod: c}}}',
      '  - {namespaceSelector: {}}',
      '  - {}',
      'default: blocked',
      'expect:',
      '  - {from: {namespace: y}, to: {pod: x/a}, ports: [{port: 81, protocol: UDP}], result: allowed}',
      '  - result: blocked',
    ]),
  );
  const spec = parse(text);
  t.equal(spec.reachabilityTests.length, 1);
  const rt0 = spec.reachabilityTests[0]!;
  t.same(strip(rt0), {
    name: 'every.field',
    via: 'service',
    ports: [
      { port: 80, protocol: 'TCP' },
      { port: 'serve-81-udp', protocol: 'UDP' },
      { port: 9, protocol: 'SCTP' },
    ],
    from: [
      { kind: 'pod', namespace: 'x', name: 'a' },
      { kind: 'namespace', namespace: 'y' },
      { kind: 'selector', podSelector: sel({ pod: 'b' }), namespaceSelector: sel({}, [{ key: 'ns', operator: 'In', values: ['z'] }]) },
      { kind: 'external', name: 'external' },
    ],
    to: [{ kind: 'selector', podSelector: sel({ pod: 'c' }) }, { kind: 'selector', namespaceSelector: sel({}) }, { kind: 'selector' }],
    default: 'blocked',
    expect: [
      { from: { kind: 'namespace', namespace: 'y' }, to: { kind: 'pod', namespace: 'x', name: 'a' }, ports: [{ port: 81, protocol: 'UDP' }], result: 'allowed' },
      { result: 'blocked' },
    ],
  });
  t.same(rt0.source, { file: 'lab.yaml', line: lineOf(text, 'kind: ReachabilityTest') - 1, col: 1 }, 'the test is at its document');
  t.same(rt0.ports!.map(lineAt), [lineOf(text, '{port: 80}'), lineOf(text, 'serve-81-udp'), lineOf(text, 'SCTP')]);
  t.same(rt0.from!.map(lineAt), [lineOf(text, '{pod: x/a}'), lineOf(text, '{namespace: y}'), lineOf(text, 'pod: b'), lineOf(text, '{external: external}')]);
  t.same(rt0.to!.map(lineAt), [lineOf(text, 'pod: c'), lineOf(text, 'namespaceSelector: {}'), lineOf(text, '  - {}')]);
  const e0 = rt0.expect[0]!;
  const expectLine = lineOf(text, 'result: allowed');
  t.same([e0.source.line, e0.from!.source.line, e0.to!.source.line, e0.ports![0]!.source.line], [expectLine, expectLine, expectLine, expectLine]);
  t.equal(rt0.expect[1]!.source.line, lineOf(text, '- result: blocked'));
  t.notOk(spec.notices.some((n) => n.message.includes('ReachabilityTest')), 'no notice: the kind is the lab’s own');
});

t.test('defaults: via pod, default allowed, no ports/from/to (each target’s ports, every pod)', async (t) => {
  const spec = parse(doc(rt('d', ['expect: []']), ['apiVersion: kube-netlab.dev/v1alpha1', 'kind: ReachabilityTest', 'metadata: {name: e}', 'spec: {}'].join('\n')));
  t.same(strip(spec.reachabilityTests), [
    { name: 'd', via: 'pod', default: 'allowed', expect: [] },
    { name: 'e', via: 'pod', default: 'allowed', expect: [] },
  ]);
  for (const test of spec.reachabilityTests) t.same(Object.keys(test).sort(), ['default', 'expect', 'name', 'source', 'via'], `${test.name}: absent fields stay absent`);
  t.same(strip(parse(doc(rt('n', ['expect: [{to: {pod: x/b}, result: blocked}]']))).reachabilityTests[0]!.expect), [{ to: { kind: 'pod', namespace: 'x', name: 'b' }, result: 'blocked' }], 'an entry without from/ports: every row, every port');
});

t.test('each problem at its line', async (t) => {
  const peer = (p: string) => ['from:', `  - ${p}`];
  const cases: [string, string[], string, string, string][] = [
    ['unknown spec field', ['defaults: allowed'], 'unknown-field', "unknown field 'defaults' in ReachabilityTest r: spec; allowed: via, ports, from, to, default, expect", 'defaults:'],
    ['unknown peer field', peer('{pods: x/a}'), 'unknown-field', "unknown field 'pods' in ReachabilityTest r: spec.from[0]; allowed: pod, namespace, podSelector, namespaceSelector, external", 'pods:'],
    ['unknown expect field', ['expect:', '  - {result: allowed, port: 80}'], 'unknown-field', "unknown field 'port' in ReachabilityTest r: spec.expect[0]; allowed: from, to, ports, result", 'port: 80'],
    ['unknown port field', ['ports:', '  - {port: 80, proto: TCP}'], 'unknown-field', "unknown field 'proto' in ReachabilityTest r: spec.ports[]; allowed: port, protocol", 'proto:'],
    ['bad via', ['via: node'], 'bad-value', 'ReachabilityTest r: spec.via must be one of pod, service, not "node"', 'via: node'],
    ['bad default', ['default: open'], 'bad-value', 'ReachabilityTest r: spec.default must be one of allowed, blocked, not "open"', 'default: open'],
    ['bad result', ['expect:', '  - {result: denied}'], 'bad-value', 'ReachabilityTest r: spec.expect[0].result must be one of allowed, blocked, not "denied"', 'denied'],
    ['missing result', ['expect:', '  - {from: {namespace: y}}'], 'missing-field', 'ReachabilityTest r: spec.expect[0].result is required: allowed or blocked', '{from: {namespace: y}}'],
    ['pod and namespace', peer('{pod: x/a, namespace: x}'), 'bad-value', 'ReachabilityTest r: spec.from[0] mixes pod and namespace; a peer is exactly one of {pod: NAMESPACE/NAME}, {namespace: NAME}, {podSelector: ..., namespaceSelector: ...} or {external: external}', 'pod: x/a'],
    ['namespace and selector', ['to:', '  - {namespace: x, podSelector: {}}'], 'bad-value', 'ReachabilityTest r: spec.to[0] mixes namespace and podSelector; a peer is exactly one of {pod: NAMESPACE/NAME}, {namespace: NAME}, {podSelector: ..., namespaceSelector: ...} or {external: external}', 'namespace: x,'],
    ['pod without slash', peer('{pod: noslash}'), 'bad-value', "ReachabilityTest r: spec.from[0].pod 'noslash' must be written NAMESPACE/NAME, e.g. shop/api-7d9f2", 'noslash'],
    ['pod with two slashes', peer('{pod: x/a/b}'), 'bad-value', "ReachabilityTest r: spec.from[0].pod 'x/a/b' must be written NAMESPACE/NAME, e.g. shop/api-7d9f2", 'x/a/b'],
    ['pod name not a label', peer('{pod: x/A}'), 'bad-value', "ReachabilityTest r: spec.from[0].pod name 'A' is not a DNS-1123 label (it has upper-case letters): use lower-case letters, digits and '-', starting and ending with a letter or digit; for example 'a'", 'x/A'],
    ['namespace not a label', peer('{namespace: X_y}'), 'bad-name', "ReachabilityTest r: spec.from[0].namespace 'X_y' is not a DNS-1123 label (it has upper-case letters): use lower-case letters, digits and '-', starting and ending with a letter or digit; for example 'x-y'", 'X_y'],
    ['peer not a mapping', peer('x/a'), 'bad-value', 'ReachabilityTest r: spec.from[0] must be a mapping (key: value lines), not "x/a"', '  - x/a'],
    ['bad selector', peer('{podSelector: {matchLabels: {"bad key": x}}}'), 'bad-value', "ReachabilityTest r: spec.from[0].podSelector.matchLabels: label key 'bad key' is not valid: the name part must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", 'bad key'],
    ['bad port name', ['ports:', '  - {port: Serve_80}'], 'bad-value', "ReachabilityTest r: spec.ports[].port 'Serve_80' is not a valid port name: at most 15 lower-case letters, digits and '-', with at least one letter, no '--', starting and ending with a letter or digit", 'Serve_80'],
    ['quoted number is a name', ['ports:', '  - {port: "80"}'], 'bad-value', "ReachabilityTest r: spec.ports[].port '80' is not a valid port name: at most 15 lower-case letters, digits and '-', with at least one letter, no '--', starting and ending with a letter or digit", '"80"'],
    ['port 0', ['ports:', '  - {port: 0}'], 'bad-value', 'ReachabilityTest r: spec.ports[].port must be an integer from 1 to 65535, not 0', 'port: 0'],
    ['port 65536', ['expect:', '  - result: blocked', '    ports:', '      - {port: 65536}'], 'bad-value', 'ReachabilityTest r: spec.expect[0].ports[].port must be an integer from 1 to 65535, not 65536', '65536'],
    ['port missing', ['ports:', '  - {protocol: UDP}'], 'missing-field', 'ReachabilityTest r: spec.ports[].port is required, a number or a container port name', 'protocol: UDP'],
    ['bad protocol', ['ports:', '  - {port: 80, protocol: ICMP}'], 'bad-value', 'ReachabilityTest r: spec.ports[].protocol must be one of TCP, UDP, SCTP, not "ICMP"', 'ICMP'],
    ['empty ports', ['via: pod', 'ports: []'], 'bad-value', "ReachabilityTest r: spec.ports is empty; leave it out to mean each target's declared ports", 'ports: []'],
    ['empty from', ['via: pod', 'from: []'], 'bad-value', "ReachabilityTest r: spec.from is empty; leave it out to mean every pod of the lab's own namespaces", 'from: []'],
    ['empty to', ['via: pod', 'to: []'], 'bad-value', "ReachabilityTest r: spec.to is empty; leave it out to mean every pod of the lab's own namespaces", 'to: []'],
    ['empty external', peer('{external: ""}'), 'bad-value', 'ReachabilityTest r: spec.from[0].external must be a non-empty string, not ""', 'external: ""'],
    ['expect not a list', ['expect: {result: allowed}'], 'bad-value', 'ReachabilityTest r: spec.expect must be a list, not a mapping', 'expect:'],
    ['empty expect entry', ['expect:', '  -', 'via: pod'], 'bad-value', 'ReachabilityTest r: spec.expect[0] entries must be mappings such as {from: {namespace: y}, to: {pod: x/a}, result: blocked}', '  -'],
  ];
  for (const [what, spec, code, message, at] of cases) {
    const text = doc(rt('r', spec));
    const ps = problems(text);
    const line = lineOf(text, at, lineOf(text, 'kind: ReachabilityTest'));
    t.same(codesAndLines(ps), [[code, line]], `${what}: one ${code} at line ${line}`);
    t.equal(ps[0]?.message, message, `${what}: message`);
  }
});

t.test('every problem of one test is reported at once, in line order', async (t) => {
  const text = doc(rt('r', ['via: node', 'default: open', 'from:', '  - {pod: noslash}', 'to:', '  - {namespace: x, pod: x/a}']));
  t.same(codesAndLines(problems(text)), [
    ['bad-value', lineOf(text, 'via: node')],
    ['bad-value', lineOf(text, 'default: open')],
    ['bad-value', lineOf(text, 'noslash')],
    ['bad-value', lineOf(text, 'namespace: x, pod')],
  ]);
});

t.test('an empty expect[].ports says what leaving it out means there', async (t) => {
  const text = doc(rt('r', ['ports: [{port: 80}]', 'expect:', '  - {ports: [], result: blocked}']));
  const ps = problems(text);
  t.same(codesAndLines(ps), [['bad-value', lineOf(text, 'ports: [], result')]]);
  // Absent in an entry means every port of the test (reachability/types.ts), not each target's declared ports.
  t.notMatch(ps[0]?.message ?? '', /declared ports/, 'the hint fits an expect entry');
});

t.test('metadata, names and duplicates', async (t) => {
  const bad = doc(rt('Bad_Name', ['default: allowed']));
  t.same(problems(bad).map((p) => [p.code, p.source?.line, p.message]), [
    [
      'bad-name',
      lineOf(bad, 'Bad_Name'),
      "ReachabilityTest name 'Bad_Name' is not a DNS-1123 subdomain: dot-separated labels of lower-case letters, digits and '-', each starting and ending with a letter or digit, at most 253 characters in all; for example 'bad-name'",
    ],
  ]);
  const noMeta = doc([...HEAD, 'spec: {}'].join('\n'));
  t.same(problems(noMeta).map((p) => [p.code, p.source?.line, p.message]), [['missing-field', lineOf(noMeta, 'kind: ReachabilityTest') - 1, 'ReachabilityTest needs metadata.name']]);
  const noName = doc([...HEAD, 'metadata: {labels: {a: b}}', 'spec: {}'].join('\n'));
  t.same(problems(noName).map((p) => [p.code, p.source?.line, p.message]), [['missing-field', lineOf(noName, 'metadata: {labels'), 'ReachabilityTest metadata.name is required']]);
  const namespaced = doc([...HEAD, 'metadata: {name: r, namespace: x}', 'spec: {}', 'status: {}'].join('\n'));
  t.same(problems(namespaced).map((p) => [p.code, p.source?.line, p.message]), [
    ['unknown-field', lineOf(namespaced, 'namespace: x}'), "unknown field 'namespace' in ReachabilityTest metadata; allowed: name, labels, annotations"],
    ['unknown-field', lineOf(namespaced, 'status:'), "unknown field 'status' in a ReachabilityTest; allowed: apiVersion, kind, metadata, spec"],
  ]);
  const twice = doc(rt('a', ['default: allowed']), rt('b', ['default: allowed']), rt('a', ['default: blocked']));
  const first = lineOf(twice, 'kind: ReachabilityTest') - 1;
  const third = lineOf(twice, 'metadata: {name: a}', first + 2) - 2;
  t.same(problems(twice).map((p) => [p.code, p.source?.line, p.message]), [['duplicate', third, `ReachabilityTest a is declared twice (first at lab.yaml:${first})`]]);
  const across = problems([
    { file: 'lab.yaml', text: doc(rt('a', ['default: allowed'])) },
    { file: 'tests.yaml', text: `# tests\n${rt('a', ['default: allowed'])}` },
  ]);
  t.same(across.map((p) => [p.code, p.source?.file, p.source?.line, p.message]), [['duplicate', 'tests.yaml', 2, `ReachabilityTest a is declared twice (first at lab.yaml:${first})`]], 'across files too');
});

t.test('apiVersion and kind', async (t) => {
  t.same(parse(doc(rt('ok', ['default: allowed']))).reachabilityTests.map((x) => x.name), ['ok'], 'ReachabilityTest is served as kube-netlab.dev/v1alpha1');
  const other = doc(rt('r', ['default: allowed'], ['apiVersion: kube-netlab.dev/v1alpha1', 'kind: NetworkTest']));
  t.same(problems(other).map((p) => [p.code, p.source?.line, p.message]), [['bad-value', lineOf(other, 'kind: NetworkTest'), "kind 'NetworkTest' does not exist in kube-netlab.dev/v1alpha1; its kinds are Lab and ReachabilityTest"]]);
  const beta = doc(rt('r', ['default: allowed'], ['apiVersion: kube-netlab.dev/v1beta1', 'kind: ReachabilityTest']));
  t.same(problems(beta).map((p) => [p.code, p.source?.line, p.message]), [['bad-value', lineOf(beta, 'v1beta1'), 'ReachabilityTest is served as apiVersion kube-netlab.dev/v1alpha1, not kube-netlab.dev/v1beta1']]);
  const core = doc(rt('r', ['default: allowed'], ['apiVersion: v1', 'kind: ReachabilityTest']));
  t.same(problems(core).map((p) => [p.code, p.source?.line, p.message]), [['bad-value', lineOf(core, 'apiVersion: v1', lineOf(core, 'kind: Namespace')), 'ReachabilityTest is served as apiVersion kube-netlab.dev/v1alpha1, not v1']]);
});

t.test('a port listed twice is refused, not probed twice', async (t) => {
  const text = [lab(), 'apiVersion: kube-netlab.dev/v1alpha1\nkind: ReachabilityTest\nmetadata: {name: twice}\nspec:\n  ports:\n    - {port: 80}\n    - {port: 80, protocol: TCP}'].join('\n---\n');
  const ps = problems(text);
  t.same(ps.map((p) => [p.code, p.source?.line]), [['duplicate', lineOf(text, 'protocol: TCP')]]);
  t.match(ps[0]!.message, /80\/TCP is listed twice \(first at line \d+\)/);
});
