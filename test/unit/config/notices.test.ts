import t from 'tap';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../../../dist/config/index.js';
import { FILE, lab, lineOf, parse } from '../../fixtures/config/helpers.js';

const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');
const FIXTURES = resolve(fileURLToPath(new URL('../../fixtures/config', import.meta.url)));

t.test('kinds a later version builds: one notice each, never dropped', async (t) => {
  const kinds = ['Endpoints', 'EndpointSlice'];
  const text = withLab(...kinds.map((k, i) => `apiVersion: x/v1\nkind: ${k}\nmetadata:\n  name: o${i}${i % 2 ? '\n  namespace: shop' : ''}`));
  const spec = parse(text);
  t.same(
    spec.notices.map((n) => [n.source?.line, n.message]),
    kinds.map((k, i) => {
      const line = lineOf(text, `kind: ${k}`) - 1;
      return [line, `${k} ${i % 2 ? 'shop' : 'default'}/o${i} at ${FILE}:${line}: not yet supported by this version; it has no effect on the lab`];
    }),
  );
});

t.test('other kinds are ignored, with a notice', async (t) => {
  const text = withLab('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}', 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}');
  const notices = parse(text).notices;
  t.same(
    notices.map((n) => n.source?.line),
    ['ConfigMap', 'Secret', 'ServiceAccount'].map((k) => lineOf(text, `kind: ${k}`) - 1),
  );
  t.match(notices[0]!.message, /^ConfigMap shop\/cfg at lab\.yaml:\d+: ignored/);
  t.match(notices[1]!.message, /^Secret s at lab\.yaml:\d+: ignored/);
});

t.test('fields with no effect are summarised once, listing each field once', async (t) => {
  const pod = (name: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  serviceAccountName: x\n  containers:\n    - name: c\n      image: nginx\n      env: [{name: A, value: b}]\n      resources: {}\n      livenessProbe: {}`;
  const notices = parse(withLab(pod('a'), pod('b'))).notices;
  t.equal(notices.length, 1);
  t.equal(notices[0]!.source, undefined);
  t.match(notices[0]!.message, /^no effect in the lab: serviceAccountName, image, env, resources, livenessProbe \(/);
});

t.test('network fields not yet supported: a notice per occurrence, naming the object and line', async (t) => {
  const text = withLab(
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: p}',
      'spec:',
      '  dnsPolicy: ClusterFirst',
      '  dnsConfig: {nameservers: [1.1.1.1]}',
      '  hostname: h',
      '  subdomain: s',
      '  hostAliases: [{ip: 1.2.3.4, hostnames: [x]}]',
      '  containers:',
      '    - name: c',
      '      readinessProbe: {tcpSocket: {port: 80}}',
      '      ports: [{containerPort: 80, hostPort: 8080, hostIP: 192.168.56.11}]',
    ].join('\n'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 3\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      hostNetwork: true\n      affinity: {}\n      containers: [{name: c}]',
  );
  const notices = parse(text).notices;
  const expect = (field: string, needle: string, what = 'Pod default/p', from = 0) => {
    const line = lineOf(text, needle, from);
    return [line, `${what} at ${FILE}:${line}: ${field} is not yet supported by this version; it has no effect on the lab`];
  };
  t.same(
    notices.map((n) => [n.source?.line, n.message]),
    [
      expect('hostAliases', 'hostAliases'),
      expect('hostIP', 'hostIP', 'Pod default/p container c'),
      expect('affinity', 'affinity', 'Deployment default/d', lineOf(text, 'kind: Deployment')),
    ],
    'the Deployment template is reported once, not per replica; DNS, hostNetwork and hostPort are read, not reported',
  );
  const spec = parse(text);
  t.equal(spec.pods[0]!.hostname, 'h');
  t.same(spec.pods[0]!.containers[0]!.ports, [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }], 'hostPort is carried');
  t.same(spec.pods.slice(1).map((p) => p.hostNetwork), [true, true, true]);
});

t.test('hostNetwork: a hostPort must be the containerPort, as the API server says', async (t) => {
  const text = withLab('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080}]}]');
  t.throws(() => parse(text), { problems: [{ code: 'bad-value', message: /hostPort 8080 must equal containerPort 80 when hostNetwork is true/ }] });
});

t.test('hostNetwork: false is what the lab does, so it needs no notice', async (t) => {
  const text = withLab('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: false\n  containers: [{name: c}]');
  t.same(parse(text).notices, []);
});

t.test('a real manifests file: notices in input order, summary last', async (t) => {
  const file = join(FIXTURES, 'real-manifests.yaml');
  const spec = loadLab([file]);
  t.same(
    spec.notices.map((n) => n.message.replace(`${file}:`, 'FILE:')),
    [
      "ConfigMap web-config at FILE:8: ignored; kind ConfigMap does not shape the lab's network",
      "no effect in the lab: serviceAccountName, volumes, image, imagePullPolicy, env, resources, volumeMounts, livenessProbe (accepted; containers run no images, the lab's test server answers on every declared port)",
    ],
  );
  t.same(spec.pods.map((p) => p.owner), [{ kind: 'Deployment', name: 'web' }, { kind: 'Deployment', name: 'web' }]);
});
