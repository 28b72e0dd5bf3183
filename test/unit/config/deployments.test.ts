import t from 'tap';
import { parseLab, replicaNames } from '../../../dist/config/index.js';
import { codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

function deployment(opts: { name?: string; namespace?: string; replicas?: number | string; selector?: string; labels?: string; spec?: string } = {}): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${opts.name ?? 'web'}`,
    ...(opts.namespace ? [`  namespace: ${opts.namespace}`] : []),
    'spec:',
    ...(opts.replicas !== undefined ? [`  replicas: ${opts.replicas}`] : []),
    `  selector: ${opts.selector ?? '{matchLabels: {app: web}}'}`,
    '  template:',
    `    metadata: {labels: ${opts.labels ?? '{app: web, tier: front}'}}`,
    `    spec: ${opts.spec ?? '{containers: [{name: web, ports: [{containerPort: 8080}]}]}'}`,
  ].join('\n');
}

const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');
const SUFFIX = /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

t.test('a Deployment expands to its replicas', async (t) => {
  const text = withLab(deployment({ replicas: 3 }));
  const pods = parse(text).pods;
  t.equal(pods.length, 3);
  for (const p of pods) {
    t.match(p.name, SUFFIX);
    t.equal(p.namespace, 'default');
    t.same(p.labels, { app: 'web', tier: 'front' });
    t.same(p.owner, { kind: 'Deployment', name: 'web' });
    t.same(p.containers, [{ name: 'web', ports: [{ containerPort: 8080, protocol: 'TCP' }] }]);
    t.equal(p.source.line, lineOf(text, 'apiVersion: apps/v1'));
  }
  t.equal(new Set(pods.map((p) => p.name)).size, 3, 'distinct names');
  pods[0]!.containers[0]!.ports.push({ containerPort: 1, protocol: 'TCP' });
  t.equal(pods[1]!.containers[0]!.ports.length, 1, 'replicas do not share objects');
});

t.test('replicas default to 1; 0 makes no pods', async (t) => {
  t.equal(parse(withLab(deployment())).pods.length, 1);
  t.equal(parse(withLab(deployment({ replicas: 0 }))).pods.length, 0);
});

t.test('names are stable: the same input gives the same names, and scaling up keeps them', async (t) => {
  const names = (replicas: number) => parse(withLab(deployment({ replicas }))).pods.map((p) => p.name);
  const three = names(3);
  t.same(names(3), three);
  const five = names(5);
  t.same(five.slice(0, 3), three);
  t.same(names(2), three.slice(0, 2), 'scaling down keeps the first ones');
  t.same(replicaNames('default', 'web', 3), three);
});

t.test('names depend on the namespace and the Deployment', async (t) => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}';
  const spec = parse(withLab(ns, deployment(), deployment({ namespace: 'shop' }), deployment({ name: 'api' })));
  const [a, b, c] = spec.pods;
  t.not(a!.name, b!.name);
  t.match(c!.name, /^api-/);
  t.not(c!.name.slice(4), a!.name.slice(4));
});

t.test('many replicas never share a name', async (t) => {
  const names = replicaNames('default', 'big', 1000);
  t.equal(new Set(names).size, 1000);
  t.same(names.filter((n) => !/^big-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(n)), [], 'every name uses the Kubernetes alphabet');
});

t.test('replicas out of range', async (t) => {
  for (const r of [-1, 1001, '"3"', 1.5]) {
    const text = withLab(deployment({ replicas: r }));
    t.same(codesAndLines(problems(text)), [['bad-value', lineOf(text, 'replicas')]], String(r));
  }
  t.equal(parse(withLab(deployment({ replicas: 1000 }))).pods.length, 1000);
});

t.test('the selector must match the template labels', async (t) => {
  const mismatch = withLab(deployment({ selector: '{matchLabels: {app: api}}' }));
  const ps = problems(mismatch);
  t.same(codesAndLines(ps), [['bad-value', lineOf(mismatch, 'selector')]]);
  t.match(ps[0]!.message, 'app=api');

  t.equal(parse(withLab(deployment({ selector: '{matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [front, back]}]}' }))).pods.length, 1);
  const expr = withLab(deployment({ selector: '{matchExpressions: [{key: tier, operator: NotIn, values: [front]}]}' }));
  t.same(codesAndLines(problems(expr)), [['bad-value', lineOf(expr, 'selector')]]);
  t.equal(parse(withLab(deployment({ selector: '{matchExpressions: [{key: app, operator: Exists}, {key: gone, operator: DoesNotExist}]}' }))).pods.length, 1);
  const op = withLab(deployment({ selector: '{matchExpressions: [{key: app, operator: Has}]}' }));
  t.same(codesAndLines(problems(op)), [['bad-value', lineOf(op, 'selector')]]);

  const empty = withLab(deployment({ selector: '{}' }));
  t.same(codesAndLines(problems(empty)), [['missing-field', lineOf(empty, 'selector')]]);
  const missing = withLab(deployment().replace('  selector: {matchLabels: {app: web}}\n', ''));
  t.same(codesAndLines(problems(missing)), [['missing-field', lineOf(missing, 'spec:')]]);
});

t.test('the template spec is checked once, like a Pod', async (t) => {
  const text = withLab(deployment({ replicas: 3, spec: '{nodeName: nodeX, containers: [{name: web}]}' }));
  t.same(codesAndLines(problems(text)), [['unknown-node', lineOf(text, 'nodeX')]], 'one problem, not one per replica');
  const noTemplate = withLab('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}');
  t.same(codesAndLines(problems(noTemplate)), [['missing-field', lineOf(noTemplate, 'spec:')]]);
});

t.test('a generated pod name that clashes with a Pod is a duplicate', async (t) => {
  const [first] = replicaNames('default', 'web', 1);
  const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: ${first}}\nspec:\n  containers: [{name: c}]`;
  const text = withLab(deployment(), pod);
  const ps = problems(text);
  t.same(codesAndLines(ps), [['duplicate', lineOf(text, 'kind: Pod') - 1]]);
  t.match(ps[0]!.message, 'Deployment web');
});

t.test('a Deployment declared twice', async (t) => {
  const text = withLab(deployment(), deployment());
  const second = lineOf(text, 'apiVersion: apps/v1', lineOf(text, 'apiVersion: apps/v1'));
  t.same(codesAndLines(problems(text)), [['duplicate', second]]);
});

t.test('a Deployment name too long for its pod names', async (t) => {
  const text = withLab(deployment({ name: 'a'.repeat(58), selector: '{matchLabels: {app: web}}' }));
  t.same(codesAndLines(problems(text)), [['bad-name', lineOf(text, 'aaaa')]]);
  t.equal(parse(withLab(deployment({ name: 'a'.repeat(57) }))).pods[0]!.name.length, 63);
});

t.test('scale: a replica count given to the loader wins over the file, and keeps the first replicas\' names', async (t) => {
  const text = withLab(deployment({ replicas: 2 }), deployment({ name: 'api', replicas: 1 }));
  const web2 = parse(text).pods.filter((p) => p.owner?.name === 'web').map((p) => p.name);
  const scaled = parseLab([{ file: 'lab.yaml', text }], { replicas: { 'default/web': 4, 'other/web': 9 } });
  const web4 = scaled.pods.filter((p) => p.owner?.name === 'web').map((p) => p.name);
  t.equal(web4.length, 4);
  t.same(web4.slice(0, 2), web2, 'existing replicas keep their names');
  t.equal(scaled.pods.filter((p) => p.owner?.name === 'api').length, 1, 'other Deployments keep the file\'s count');
  t.same(scaled.deployments, ['default/web', 'default/api']);
  t.equal(parseLab([{ file: 'lab.yaml', text }], { replicas: { 'default/web': 0 } }).pods.filter((p) => p.owner?.name === 'web').length, 0);
});
