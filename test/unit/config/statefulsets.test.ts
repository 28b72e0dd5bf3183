import t from 'tap';
import { codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';
import { parseLab } from '../../../dist/config/index.js';

function statefulSet(opts: { name?: string; replicas?: number; serviceName?: string | null; spec?: string } = {}): string {
  return [
    'apiVersion: apps/v1',
    'kind: StatefulSet',
    'metadata:',
    `  name: ${opts.name ?? 'db'}`,
    'spec:',
    ...(opts.serviceName === null ? [] : [`  serviceName: ${opts.serviceName ?? 'db'}`]),
    `  replicas: ${opts.replicas ?? 2}`,
    '  selector: {matchLabels: {app: db}}',
    '  template:',
    '    metadata: {labels: {app: db}}',
    `    spec: ${opts.spec ?? '{containers: [{name: pg, ports: [{name: pg, containerPort: 5432}]}]}'}`,
  ].join('\n');
}
const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');

t.test('a StatefulSet makes <name>-<ordinal> pods with hostname and subdomain', async (t) => {
  const text = withLab(statefulSet({ replicas: 3 }));
  const spec = parse(text);
  t.same(
    spec.pods.map((p) => [p.name, p.hostname, p.subdomain]),
    [
      ['db-0', 'db-0', 'db'],
      ['db-1', 'db-1', 'db'],
      ['db-2', 'db-2', 'db'],
    ],
  );
  t.same(spec.pods[1]!.labels, { app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-1' });
  t.same(spec.pods[0]!.owner, { kind: 'StatefulSet', name: 'db' });
  t.equal(spec.pods[0]!.source.line, lineOf(text, 'kind: StatefulSet') - 1);
  t.same(spec.statefulSets, ['default/db']);
  t.same(spec.deployments, []);
  t.same(spec.notices, [], 'no longer reported as a later kind');
});

t.test('the template cannot override the hostname; without serviceName there is no subdomain', async (t) => {
  const pods = parse(withLab(statefulSet({ serviceName: null, spec: '{hostname: x, subdomain: y, containers: [{name: c}]}' }))).pods;
  t.same(
    pods.map((p) => [p.hostname, p.subdomain]),
    [
      ['db-0', 'y'],
      ['db-1', 'y'],
    ],
    "the template's subdomain stays when the set names no service",
  );
});

t.test('scale counts win over the file, apart from a Deployment of the same name', async (t) => {
  const text = withLab(statefulSet({ replicas: 2 }));
  const spec = parseLab([{ file: 'lab.yaml', text }], { replicas: { 'default/db': 7, 'statefulset/default/db': 4 } });
  t.same(
    spec.pods.map((p) => p.name),
    ['db-0', 'db-1', 'db-2', 'db-3'],
  );
});

t.test('problems: duplicates, bad serviceName, pod names too long for a host name', async (t) => {
  const dup = withLab(statefulSet(), statefulSet());
  t.same(codesAndLines(problems(dup)), [['duplicate', lineOf(dup, 'kind: StatefulSet', lineOf(dup, 'kind: StatefulSet')) - 1]]);
  const bad = withLab(statefulSet({ serviceName: 'DB' }));
  t.same(codesAndLines(problems(bad)), [['bad-name', lineOf(bad, 'serviceName')]]);
  const long = withLab(statefulSet({ name: 'a'.repeat(61), replicas: 11 }));
  const ps = problems(long);
  t.same(codesAndLines(ps), [['bad-name', lineOf(long, 'name: aaa')]]);
  t.match(ps[0]!.message, /'a{61}-10' is 64 characters long.*shorten the StatefulSet name/);
  t.same(parse(withLab(statefulSet({ name: 'a'.repeat(61), replicas: 10 }))).pods.length, 10, 'ordinal 9 still fits');
});
