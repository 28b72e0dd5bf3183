import t from 'tap';
import { codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

/** The Lab document, then the given manifests as further documents. */
function withLab(...docs: string[]): string {
  return [lab(), ...docs].join('\n---\n');
}

const NS_SHOP = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop';

t.test('a Pod with everything the lab reads', async (t) => {
  const text = withLab(
    NS_SHOP,
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: cache',
      '  namespace: shop',
      '  labels: {app: cache, app.kubernetes.io/part-of: shop}',
      'spec:',
      '  nodeName: node3',
      '  nodeSelector: {zone: b}',
      '  containers:',
      '    - name: redis',
      '      ports:',
      '        - {name: redis, containerPort: 6379}',
      '        - {containerPort: 6379, protocol: UDP}',
      '    - name: sidecar',
    ].join('\n'),
  );
  const spec = parse(text);
  t.same(spec.namespaces, ['default', 'shop']);
  t.same(spec.pods, [
    {
      namespace: 'shop',
      name: 'cache',
      labels: { app: 'cache', 'app.kubernetes.io/part-of': 'shop' },
      containers: [
        {
          name: 'redis',
          ports: [
            { containerPort: 6379, protocol: 'TCP', name: 'redis' },
            { containerPort: 6379, protocol: 'UDP' },
          ],
        },
        { name: 'sidecar', ports: [] },
      ],
      dnsPolicy: 'ClusterFirst',
      nodeName: 'node3',
      nodeSelector: { zone: 'b' },
      source: { file: 'lab.yaml', line: lineOf(text, 'kind: Pod') - 1, col: 1 },
    },
  ]);
});

t.test('documents may come in any order: the Lab and Namespaces after the pods', async (t) => {
  const text = ['apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: late}\nspec:\n  nodeName: node2\n  containers: [{name: c}]', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: late}', lab()].join('\n---\n');
  const spec = parse(text);
  t.same(spec.pods.map((p) => [p.namespace, p.name, p.nodeName]), [['late', 'p', 'node2']]);
});

t.test('namespaces: default always first, duplicates refused, undeclared ones named', async (t) => {
  const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}`;
  t.same(parse(withLab(ns('b'), ns('a'), ns('default'))).namespaces, ['default', 'b', 'a']);
  const dup = withLab(ns('a'), ns('a'));
  t.same(codesAndLines(problems(dup)), [['duplicate', lineOf(dup, 'apiVersion: v1', 10)]]);
  const bad = withLab(ns('Shop'));
  t.same(codesAndLines(problems(bad)), [['bad-name', lineOf(bad, 'name: Shop')]]);

  const undeclared = withLab('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  containers: [{name: c}]');
  const ps = problems(undeclared);
  t.same(codesAndLines(ps), [['bad-value', lineOf(undeclared, 'namespace: shop')]]);
  t.match(ps[0]!.message, /kind: Namespace\nmetadata:\n  name: shop/, 'tells what to add');
});

t.test('names must be DNS-1123 labels, with a suggested fix', async (t) => {
  const text = withLab(
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web_1\nspec:\n  containers:\n    - name: -main\n      ports: [{name: Http_Port, containerPort: 80}]',
  );
  const ps = problems(text);
  t.same(codesAndLines(ps), [
    ['bad-name', lineOf(text, 'Web_1')],
    ['bad-name', lineOf(text, '-main')],
    ['bad-name', lineOf(text, 'Http_Port')],
  ]);
  t.match(ps[0]!.message, "'web-1'");
  t.match(ps[1]!.message, "'main'");
  const long = withLab(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${'a'.repeat(64)}\nspec:\n  containers: [{name: c}]`);
  t.same(codesAndLines(problems(long)), [['bad-name', lineOf(long, 'aaaa')]]);
});

t.test('duplicate pods, containers and ports', async (t) => {
  const pod = (name: string, ns = 'default') => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  containers: [{name: c}]`;
  const pods = withLab(NS_SHOP, pod('a'), pod('a', 'shop'), pod('a'));
  t.same(codesAndLines(problems(pods)), [['duplicate', lineOf(pods, 'name: a, namespace: default', 20) - 2]], 'the same name in another namespace is fine');

  const containers = withLab('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n    - name: d\n    - name: c');
  t.same(codesAndLines(problems(containers)), [['duplicate', lineOf(containers, '- name: c', 12)]]);

  const ports = withLab(
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: p}',
      'spec:',
      '  containers:',
      '    - name: a',
      '      ports:',
      '        - {containerPort: 80}',
      '        - {containerPort: 53, protocol: UDP}',
      '    - name: b',
      '      ports:',
      '        - {containerPort: 53}',
      '        - {containerPort: 80, protocol: TCP}',
      '        - {containerPort: 53, protocol: UDP}',
    ].join('\n'),
  );
  const ps = problems(ports);
  t.same(codesAndLines(ps), [
    ['duplicate', lineOf(ports, 'containerPort: 80, protocol: TCP')],
    ['duplicate', lineOf(ports, 'containerPort: 53, protocol: UDP', 15)],
  ]);
  t.match(ps[0]!.message, 'network namespace');
  const names = withLab('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      ports: [{name: web, containerPort: 80}, {name: web, containerPort: 81}]');
  t.same(codesAndLines(problems(names)), [['duplicate', lineOf(names, 'name: web')]]);
});

t.test('ports: ranges, protocol, required containerPort', async (t) => {
  const text = withLab(
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: p}',
      'spec:',
      '  containers:',
      '    - name: a',
      '      ports:',
      '        - containerPort: 0',
      '        - containerPort: 65536',
      '        - containerPort: "80"',
      '        - {containerPort: 90, protocol: SCTP}',
      '        - {containerPort: 91, protocol: tcp}',
      '        - {name: x}',
      '        - {containerPort: 92, hostPort: 70000}',
      '        - {containerPort: 65535, hostPort: 65535}',
    ].join('\n'),
  );
  const ps = problems(text);
  t.same(codesAndLines(ps), [
    ['bad-value', lineOf(text, 'containerPort: 0')],
    ['bad-value', lineOf(text, '65536')],
    ['bad-value', lineOf(text, '"80"')],
    ['bad-value', lineOf(text, 'SCTP')],
    ['bad-value', lineOf(text, 'protocol: tcp')],
    ['missing-field', lineOf(text, 'name: x')],
    ['bad-value', lineOf(text, '70000')],
  ]);
  t.match(ps[3]!.message, 'TCP, UDP');
});

t.test('a pod needs containers', async (t) => {
  const none = withLab('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []');
  t.same(codesAndLines(problems(none)), [['missing-field', lineOf(none, 'containers')]]);
  const noName = withLab('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - image: x');
  t.same(codesAndLines(problems(noName)), [['missing-field', lineOf(noName, 'image: x')]]);
  const noMeta = withLab('apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: c}]');
  t.same(codesAndLines(problems(noMeta)), [['missing-field', lineOf(noMeta, 'kind: Pod') - 1]]);
});

t.test('nodeName must name a node of the lab', async (t) => {
  const text = withLab('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: node9\n  containers: [{name: c}]');
  const ps = problems(text);
  t.same(codesAndLines(ps), [['unknown-node', lineOf(text, 'node9')]]);
  t.match(ps[0]!.message, 'node1, node2, node3');
});

t.test('labels and selectors follow the Kubernetes rules', async (t) => {
  const text = withLab('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    app: "-x"\n    bad key: y\n    version: 2\nspec:\n  nodeSelector: {zone: 1}\n  containers: [{name: c}]');
  t.same(codesAndLines(problems(text)), [
    ['bad-value', lineOf(text, 'app: "-x"')],
    ['bad-value', lineOf(text, 'bad key')],
    ['bad-value', lineOf(text, 'version: 2')],
    ['bad-value', lineOf(text, 'zone: 1')],
  ]);
});

t.test('more than 1000 pods in total', async (t) => {
  const deploy = (name: string, replicas: number) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec: {containers: [{name: c}]}`;
  t.equal(parse(withLab(deploy('a', 600), deploy('b', 400))).pods.length, 1000);
  const over = withLab(deploy('a', 600), deploy('b', 401));
  t.same(codesAndLines(problems(over)), [['capacity', lineOf(over, 'name: b') - 2]]);
});

t.test('documents without apiVersion or kind, or not a mapping', async (t) => {
  const text = withLab('kind: Pod\nmetadata: {name: p}', 'apiVersion: v1\nmetadata: {name: q}', '- just\n- a list');
  t.same(codesAndLines(problems(text)), [
    ['missing-field', lineOf(text, 'kind: Pod')],
    ['missing-field', lineOf(text, 'name: q') - 1],
    ['bad-value', lineOf(text, '- just')],
  ]);
});

t.test('wrong apiVersion for a built kind', async (t) => {
  const text = withLab('apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}');
  t.same(codesAndLines(problems(text)), [['bad-value', lineOf(text, 'extensions')]]);
  const netlab = withLab('apiVersion: kube-netlab.dev/v1alpha1\nkind: Labs');
  t.same(codesAndLines(problems(netlab)), [['bad-value', lineOf(netlab, 'kind: Labs')]]);
});

t.test('unknown fields in Kubernetes manifests are not errors', async (t) => {
  const text = withLab('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  uid: 1234\n  finalizers: [x]\nspec:\n  containers: [{name: c, madeUp: 1}]\n  somethingNew: true\nstatus:\n  phase: Running');
  t.equal(parse(text).pods.length, 1);
});

t.test('anchors and aliases read as the values they name', async (t) => {
  const text = withLab('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: &l {app: web}\nspec:\n  nodeSelector: *l\n  containers: [{name: c}]');
  t.same(parse(text).pods[0]!.nodeSelector, { app: 'web' });
});

t.test('a v1 List holds objects like documents do', async (t) => {
  const text = withLab('apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: p, namespace: shop}\n    spec: {containers: [{name: c}]}');
  const spec = parse(text);
  t.same(spec.namespaces, ['default', 'shop']);
  t.same(spec.pods.map((p) => [p.name, p.source.line]), [['p', lineOf(text, '- apiVersion: v1')]]);
});

t.test('empty documents and comments between separators are skipped', async (t) => {
  const text = `---\n# nothing here\n---\n${lab()}\n---\n---\n`;
  t.equal(parse(text).name, 'demo');
});
