import t from 'tap';
import { DEFAULT_BACKEND, DEFAULTS } from '../../../dist/config/index.js';
import { codesAndLines, FILE, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

t.test('a minimal Lab document gets every default', async (t) => {
  const spec = parse(lab());
  t.equal(spec.name, 'demo');
  t.same(spec.source, { file: FILE, line: 1, col: 1 });
  t.same(
    spec.nodes.map((n) => [n.name, n.labels]),
    ['node1', 'node2', 'node3'].map((n) => [n, { 'kubernetes.io/hostname': n }]),
  );
  t.equal(spec.nodeNetwork, '192.168.56.0/24');
  t.equal(spec.mtu, 1500);
  t.same(spec.podNetwork, { cidr: '10.244.0.0/16', backend: 'vxlan', vxlan: { port: 8472, vni: 1 }, udp: { port: 8285 } });
  t.same(spec.serviceNetwork, { cidr: '10.96.0.0/12', proxyMode: 'iptables' });
  t.equal(spec.clusterDomain, 'cluster.local');
  t.same(spec.external, { cidr: '203.0.113.0/24', servers: [] });
  t.same(spec.namespaces, ['default']);
  t.same(spec.pods, []);
  t.same(spec.notices, []);
  t.same(spec.files, [FILE]);
});

t.test('DEFAULTS document the same values', async (t) => {
  t.equal(DEFAULT_BACKEND, 'vxlan');
  t.equal(DEFAULTS.podNetwork.backend, DEFAULT_BACKEND);
  t.same(DEFAULTS.nodes, ['node1', 'node2', 'node3']);
  t.equal(DEFAULTS.nodeNetwork, '192.168.56.0/24');
  t.equal(DEFAULTS.serviceNetwork.cidr, '10.96.0.0/12');
  t.same(DEFAULTS.external.serverPorts, [80]);
});

t.test('every field given', async (t) => {
  const spec = parse(
    lab(
      [
        '  nodes:',
        '    - {name: n1, labels: {zone: a}}',
        '    - name: n2',
        '  nodeNetwork: 10.10.0.0/24',
        '  mtu: 9000',
        '  podNetwork:',
        '    cidr: 10.20.0.0/16',
        '    backend: udp',
        '    vxlan: {port: 4789, vni: 42}',
        '    udp: {port: 9999}',
        '  serviceNetwork: {cidr: 10.30.0.0/16, proxyMode: nftables}',
        '  clusterDomain: lab.example',
        '  external:',
        '    cidr: 198.51.100.0/24',
        '    servers:',
        '      - {name: legacy.example.net, address: 198.51.100.50, ports: [80, 443]}',
        '      - {name: db.example.net, address: 198.51.100.60}',
      ].join('\n'),
    ),
  );
  t.same(spec.nodes.map((n) => [n.name, n.labels]), [
    ['n1', { zone: 'a', 'kubernetes.io/hostname': 'n1' }],
    ['n2', { 'kubernetes.io/hostname': 'n2' }],
  ]);
  t.equal(spec.nodes[1]!.source.line, 8);
  t.equal(spec.nodeNetwork, '10.10.0.0/24');
  t.equal(spec.mtu, 9000);
  t.same(spec.podNetwork, { cidr: '10.20.0.0/16', backend: 'udp', vxlan: { port: 4789, vni: 42 }, udp: { port: 9999 } });
  t.same(spec.serviceNetwork, { cidr: '10.30.0.0/16', proxyMode: 'nftables' });
  t.equal(spec.clusterDomain, 'lab.example');
  t.same(spec.external, {
    cidr: '198.51.100.0/24',
    servers: [
      { name: 'legacy.example.net', address: '198.51.100.50', ports: [80, 443] },
      { name: 'db.example.net', address: '198.51.100.60', ports: [80] },
    ],
  });
});

t.test('metadata labels and annotations are allowed; the name option overrides', async (t) => {
  const text = 'apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata:\n  name: demo\n  labels: {team: net}\n  annotations: {note: x}\n';
  t.equal(parse(text).name, 'demo');
  t.equal(parse(text, { name: 'other' }).name, 'other');
});

t.test('unknown fields anywhere in the Lab document, each at its own line', async (t) => {
  const text = [
    'apiVersion: kube-netlab.dev/v1alpha1',
    'kind: Lab',
    'metadata:',
    '  name: demo',
    '  namespace: x',
    'spec:',
    '  nodes:',
    '    - {name: n1, role: worker}',
    '  podNetwork:',
    '    cidr: 10.244.0.0/16',
    '    bakend: vxlan',
    '    vxlan: {port: 8472, vnid: 3}',
    '  serviceNetwork: {cidr: 10.96.0.0/12, mode: iptables}',
    '  external:',
    '    servers:',
    '      - {name: a.example, address: 203.0.113.50, port: 80}',
    '  nodeNetwork: 192.168.56.0/24',
    '  dns: {}',
    'status: {}',
  ].join('\n');
  const ps = problems(text);
  t.same(codesAndLines(ps), [
    ['unknown-field', lineOf(text, 'namespace: x')],
    ['unknown-field', lineOf(text, 'role: worker')],
    ['unknown-field', lineOf(text, 'bakend')],
    ['unknown-field', lineOf(text, 'vnid')],
    ['unknown-field', lineOf(text, 'mode: iptables')],
    ['unknown-field', lineOf(text, 'port: 80}')],
    ['unknown-field', lineOf(text, 'dns:')],
    ['unknown-field', lineOf(text, 'status:')],
  ]);
  t.match(ps[2]!.message, /bakend.*allowed: cidr, backend, vxlan, udp/);
  t.equal(ps[2]!.source!.col, 5, 'the column of the key');
});

t.test('the lab name', async (t) => {
  t.same(codesAndLines(problems(lab('', 'My_Lab'))), [['bad-name', 4]]);
  t.match(problems(lab('', 'My_Lab'))[0]!.message, /'my-lab'/, 'suggests a fixed name');
  t.same(codesAndLines(problems(lab('', 'a'.repeat(25)))), [['bad-name', 4]], 'at most 24 characters');
  t.equal(parse(lab('', 'a'.repeat(24))).name, 'a'.repeat(24));
  t.same(codesAndLines(problems('apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {}\n')), [['missing-field', 3]]);
  t.same(codesAndLines(problems('apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\n')), [['missing-field', 1]]);
  t.equal(parse('apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\n', { name: 'given' }).name, 'given', 'the option stands in for a missing name');
  const ps = problems(lab(), { name: 'Bad.Name' });
  t.same(ps.map((p) => [p.code, p.source]), [['bad-name', undefined]]);
  t.same(problems(lab(), { name: 'x'.repeat(25) }).map((p) => p.code), ['bad-name']);
});

t.test('nodes', async (t) => {
  const none = lab('  nodes: []');
  t.same(codesAndLines(problems(none)), [['capacity', lineOf(none, 'nodes:')]]);
  const many = lab(`  nodes:\n${Array.from({ length: 51 }, (_, i) => `    - name: n${i}`).join('\n')}`);
  t.same(codesAndLines(problems(many)), [['capacity', lineOf(many, '- name: n0')]]);
  t.equal(parse(lab(`  nodes:\n${Array.from({ length: 50 }, (_, i) => `    - name: n${i}`).join('\n')}`)).nodes.length, 50);

  const dup = lab('  nodes:\n    - name: a\n    - name: b\n    - name: a');
  t.same(codesAndLines(problems(dup)), [['duplicate', lineOf(dup, 'name: a', 7)]]);

  const bad = lab('  nodes:\n    - name: Node_1');
  const ps = problems(bad);
  t.same(codesAndLines(ps), [['bad-name', lineOf(bad, 'Node_1')]]);
  t.match(ps[0]!.message, /'node-1'/);

  const scalar = lab('  nodes: [node1, node2]');
  t.same(codesAndLines(problems(scalar)), [
    ['bad-value', lineOf(scalar, 'nodes:')],
    ['bad-value', lineOf(scalar, 'nodes:')],
  ]);
  t.same(codesAndLines(problems(lab('  nodes: {a: 1}'))), [['bad-value', 6]]);
  t.same(codesAndLines(problems(lab('  nodes:\n    - labels: {a: b}'))), [['missing-field', 7]]);
  const label = lab('  nodes:\n    - {name: a, labels: {zone: 1}}');
  t.same(codesAndLines(problems(label)), [['bad-value', 7]], 'label values are strings, as in Kubernetes');
});

t.test('nodeNetwork', async (t) => {
  const host = lab('  nodeNetwork: 192.168.56.7/24');
  const ps = problems(host);
  t.same(codesAndLines(ps), [['bad-value', 6]]);
  t.match(ps[0]!.message, '192.168.56.0/24', 'says what to write instead');
  t.same(codesAndLines(problems(lab('  nodeNetwork: 192.168.56.0'))), [['bad-value', 6]]);
  t.same(codesAndLines(problems(lab('  nodeNetwork: 300.1.1.0/24'))), [['bad-value', 6]]);
  t.same(codesAndLines(problems(lab('  nodeNetwork: 127.0.0.0/24'))), [['bad-value', 6]]);
  // 3 nodes at .11-.13 and the broadcast at .15 just fit a /28; a fourth does not.
  t.equal(parse(lab('  nodeNetwork: 192.168.56.0/28')).nodeNetwork, '192.168.56.0/28');
  const small = lab('  nodeNetwork: 192.168.56.0/28\n  nodes: [{name: a}, {name: b}, {name: c}, {name: d}, {name: e}]');
  t.same(codesAndLines(problems(small)), [['capacity', lineOf(small, 'nodeNetwork')]]);
});

t.test('mtu', async (t) => {
  t.equal(parse(lab('  mtu: 1280')).mtu, 1280);
  for (const v of ['1279', '9001', '1500.5', '"1500"']) {
    t.same(codesAndLines(problems(lab(`  mtu: ${v}`))), [['bad-value', 6]], v);
  }
});

t.test('podNetwork', async (t) => {
  const backend = lab('  podNetwork:\n    backend: flannel');
  const ps = problems(backend);
  t.same(codesAndLines(ps), [['bad-value', 7]]);
  t.match(ps[0]!.message, 'host-gw, cloud-routes, vxlan, udp');
  for (const b of ['host-gw', 'cloud-routes', 'vxlan', 'udp']) t.equal(parse(lab(`  podNetwork: {backend: ${b}}`)).podNetwork.backend, b);
  t.same(codesAndLines(problems(lab('  podNetwork:\n    cidr: 10.244.0.0/25'))), [['capacity', 7]], 'one /24 per node');
  t.same(codesAndLines(problems(lab('  podNetwork:\n    cidr: 10.244.0.0/23'))), [['capacity', 7]], 'two /24s for three nodes');
  t.equal(parse(lab('  podNetwork:\n    cidr: 10.244.0.0/22')).podNetwork.cidr, '10.244.0.0/22');
  t.same(codesAndLines(problems(lab('  podNetwork:\n    cidr: 10.244.1.0/16'))), [['bad-value', 7]]);
  t.same(codesAndLines(problems(lab('  podNetwork:\n    vxlan: {port: 0, vni: 16777216}'))), [['bad-value', 7], ['bad-value', 7]]);
  t.same(codesAndLines(problems(lab('  podNetwork:\n    udp:\n      port: 70000'))), [['bad-value', 8]]);
  t.same(codesAndLines(problems(lab('  podNetwork: vxlan'))), [['bad-value', 6]], 'a string where a mapping belongs');
});

t.test('serviceNetwork', async (t) => {
  const ps = problems(lab('  serviceNetwork:\n    proxyMode: ipvs'));
  t.same(codesAndLines(ps), [['bad-value', 7]]);
  t.match(ps[0]!.message, 'iptables, nftables');
  t.same(codesAndLines(problems(lab('  serviceNetwork:\n    cidr: 10.96.0.0/29'))), [['capacity', 7]]);
  t.equal(parse(lab('  serviceNetwork:\n    cidr: 10.96.0.0/28')).serviceNetwork.cidr, '10.96.0.0/28');
});

t.test('clusterDomain', async (t) => {
  t.same(codesAndLines(problems(lab('  clusterDomain: Cluster_Local'))), [['bad-name', 6]]);
  t.same(codesAndLines(problems(lab('  clusterDomain: cluster.local.'))), [['bad-name', 6]]);
});

t.test('overlapping networks: both named, both lines', async (t) => {
  const text = lab('  nodeNetwork: 10.244.5.0/24\n  podNetwork:\n    cidr: 10.244.0.0/16');
  const ps = problems(text);
  t.same(codesAndLines(ps), [['cidr-overlap', lineOf(text, 'cidr: 10.244')]]);
  t.match(ps[0]!.message, `spec.podNetwork.cidr 10.244.0.0/16 (line ${lineOf(text, 'cidr: 10.244')})`);
  t.match(ps[0]!.message, `spec.nodeNetwork 10.244.5.0/24 (line ${lineOf(text, 'nodeNetwork')})`);

  const withDefault = lab('  serviceNetwork: {cidr: 10.244.0.0/16}');
  const pd = problems(withDefault);
  t.same(codesAndLines(pd), [['cidr-overlap', 6]], 'placed at the written one');
  t.match(pd[0]!.message, 'spec.podNetwork.cidr 10.244.0.0/16 (the default)');

  const all = lab('  nodeNetwork: 10.0.0.0/24\n  podNetwork: {cidr: 10.0.0.0/16}\n  serviceNetwork: {cidr: 10.0.0.0/12}\n  external: {cidr: 10.0.0.0/20}');
  t.same(problems(all).map((p) => p.code), Array(6).fill('cidr-overlap'), 'every pair');
});

t.test('external servers', async (t) => {
  const text = lab(
    [
      '  external:',
      '    cidr: 203.0.113.0/24',
      '    servers:',
      '      - {name: ok.example.net, address: 203.0.113.11}',
      '      - {name: reserved.example.net, address: 203.0.113.10}',
      '      - {name: outside.example.net, address: 198.51.100.50}',
      '      - {name: Bad_Name, address: 203.0.113.60}',
      '      - {name: ports.example.net, address: 203.0.113.61, ports: [0, 80, 80]}',
      '      - {name: ok.example.net, address: 203.0.113.11}',
      '      - {name: noaddr.example.net}',
      '      - {name: bcast.example.net, address: 203.0.113.255}',
      '      - {name: notip.example.net, address: 203.0.113}',
    ].join('\n'),
  );
  t.same(codesAndLines(problems(text)), [
    ['bad-value', lineOf(text, 'reserved.example')],
    ['bad-value', lineOf(text, 'outside.example')],
    ['bad-name', lineOf(text, 'Bad_Name')],
    ['bad-value', lineOf(text, 'ports.example')],
    ['duplicate', lineOf(text, 'ports.example')],
    ['duplicate', lineOf(text, 'ok.example', 10)],
    ['duplicate', lineOf(text, 'ok.example', 10)],
    ['missing-field', lineOf(text, 'noaddr')],
    ['bad-value', lineOf(text, 'bcast')],
    ['bad-value', lineOf(text, 'notip')],
  ]);
  t.same(codesAndLines(problems(lab('  external:\n    cidr: 203.0.113.0/29'))), [['capacity', 7]]);
});

t.test('exactly one Lab document', async (t) => {
  const none = problems('apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
  t.same(none.map((p) => p.code), ['no-lab']);
  t.match(none[0]!.message, 'kind: Lab', 'shows a minimal example');
  const two = `${lab()}\n---\n${lab('', 'other')}`;
  t.same(codesAndLines(problems(two)), [['duplicate', lineOf(two, '---') + 1]]);
  const version = lab().replace('v1alpha1', 'v1');
  t.same(codesAndLines(problems(version)), [['bad-value', 1]], 'a wrong version is reported, not a missing Lab');
  const typo = lab().replace('kind: Lab', 'kind: lab');
  t.same(codesAndLines(problems(typo)), [['no-lab', undefined], ['bad-value', 2]]);
});

t.test('every problem of a file is reported at once', async (t) => {
  const text = lab('  mtu: 1\n  podNetwork: {backend: nope}\n  serviceNetwork: {proxyMode: nope}\n  colour: red');
  t.same(codesAndLines(problems(text)), [
    ['bad-value', 6],
    ['bad-value', 7],
    ['bad-value', 8],
    ['unknown-field', 9],
  ]);
});
