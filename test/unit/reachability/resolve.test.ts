/**
 * ReachabilityTests resolved against the upstream x/y/z model's plan:
 * rows, columns and ports, expectations in order, the target of `via:
 * service`, external rows, predictions as the policy engine decides them,
 * and every problem with the line to fix.
 */
import t from 'tap';
import { parseLab } from '../../../dist/config/index.js';
import { proxyInputs } from '../../../dist/model/endpoints.js';
import { planLab } from '../../../dist/model/plan.js';
import { PolicyEngine, podParty } from '../../../dist/components/network-policy/engine.js';
import { makeWorld } from '../../../dist/reachability/predict.js';
import { checkReachabilityTests, resolveReachabilityTests, type Cell } from '../../../dist/reachability/resolve.js';
import { ConfigError } from '../../../dist/util/errors.js';
import { lineOf } from '../../fixtures/config/helpers.js';
import { MODEL_PODS, labDocument, modelManifests } from '../../helpers/netpol-model.js';

const FILE = 'm.yaml';
const rt = (name: string, spec: string[]) => ['apiVersion: kube-netlab.dev/v1alpha1', 'kind: ReachabilityTest', `metadata: {name: ${name}}`, 'spec:', ...spec.map((l) => `  ${l}`), ''].join('\n');
const policy = (ns: string, name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}\n`;
/** x/d: serve-80-tcp is 8080 here (80 on the model's pods), plus 81/TCP; no Service unless `service` is set. */
const podD = (service = false) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: x, labels: {pod: d}}\nspec:\n  containers:\n    - {name: c, ports: [{name: serve-80-tcp, containerPort: 8080}, {containerPort: 81}]}\n` +
  (service ? `---\napiVersion: v1\nkind: Service\nmetadata: {name: web-d, namespace: x}\nspec:\n  selector: {pod: d}\n  ports: [{port: 80, targetPort: serve-80-tcp}]\n` : '');
const INGRESS = `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: x}\nspec:\n  ingressClassName: nginx\n  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s-x-a, port: {number: 80}}}}]}}]\n`;

function resolve(...docs: string[]) {
  const text = [labDocument('m', 'host-gw', 'iptables'), modelManifests(), ...docs].join('---\n');
  const plan = planLab(parseLab([{ file: FILE, text }]));
  const engine = PolicyEngine.fromPlan(plan);
  const world = makeWorld(plan, engine, proxyInputs(plan, () => true));
  return { text, plan, engine, world, ...resolveReachabilityTests(world) };
}
const pod = (l: ReturnType<typeof resolve>, key: string) => l.plan.pods.find((p) => p.key === key)!;
/** `FROM -> TO:PORT/PROTO expected/predicted` of each cell of a table. */
const summary = (cells: Cell[], table?: string) => cells.filter((c) => !table || c.table === table).map((c) => `${c.name} ${c.expected}/${c.prediction.result}`);

t.test('default rows, columns and ports: the lab file’s pods, each target’s declared ports', async (t) => {
  const l = resolve(INGRESS, rt('all', ['default: allowed']));
  t.ok(l.plan.pods.some((p) => p.namespace === 'kube-system') && l.plan.pods.some((p) => p.namespace === 'ingress-nginx'), 'the plan has add-on pods to leave out');
  t.same(l.problems, []);
  const [test] = l.tests;
  t.same([test!.name, test!.via, test!.rows, test!.columns], ['all', 'pod', MODEL_PODS, MODEL_PODS]);
  t.same(test!.tables, [
    { label: '80/TCP', protocol: 'TCP' },
    { label: '80/UDP', protocol: 'UDP' },
    { label: '81/TCP', protocol: 'TCP' },
    { label: '81/UDP', protocol: 'UDP' },
  ]);
  t.equal(test!.cells.length, 4 * 9 * 8, 'four tables of 9 x 9 cells less the self cells');
  t.same(test!.cells.filter((c) => c.from === c.to), [], 'self cells are skipped');
  t.same(summary(test!.cells, '80/TCP').slice(0, 3), ['x/a -> x/b:80/TCP allowed/allowed', 'x/a -> x/c:80/TCP allowed/allowed', 'x/a -> y/a:80/TCP allowed/allowed'], 'rows then columns, in plan order');
  const c = test!.cells.find((x) => x.name === 'y/c -> x/b:81/UDP')!;
  const { prediction, ...rest } = c;
  t.same(rest, { test: 'all', from: 'y/c', to: 'x/b', table: '81/UDP', port: 81, protocol: 'UDP', name: 'y/c -> x/b:81/UDP', expected: 'allowed', probe: { netns: pod(l, 'y/c').netns, ip: pod(l, 'x/b').ip, port: 81, protocol: 'UDP' }, via: 'pod IP' });
  t.same([prediction.result, prediction.reason, prediction.deliveries.map((d) => d.label)], ['allowed', 'no policy isolates y/c for egress; no policy isolates x/b for ingress', ['x/b:81']]);
});

t.test('rows and columns from peers: in order, without repeats', async (t) => {
  const l = resolve(rt('peers', ['from: [{podSelector: {matchLabels: {pod: b}}}, {namespaceSelector: {matchLabels: {ns: z}}}, {pod: x/a}]', 'to: [{namespace: y}, {pod: y/a}]', 'ports: [{port: 80}]']));
  t.same(l.problems, []);
  t.same([l.tests[0]!.rows, l.tests[0]!.columns], [['x/b', 'y/b', 'z/b', 'z/a', 'z/c', 'x/a'], ['y/a', 'y/b', 'y/c']], 'a podSelector alone matches in every namespace');
  t.equal(l.tests[0]!.cells.length, 6 * 3 - 1, 'y/b -> y/b is the one self cell');
});

t.test('explicit ports: numbers, names resolved per target, SCTP predicted only', async (t) => {
  const allowNamed = policy('x', 'd-named', '  podSelector: {matchLabels: {pod: d}}\n  ingress: [{ports: [{port: serve-80-tcp}]}]');
  const l = resolve(podD(), allowNamed, rt('ports', ['from: [{pod: y/a}]', 'to: [{pod: x/b}, {pod: x/d}]', 'ports: [{port: 81}, {port: serve-80-tcp}, {port: 80, protocol: SCTP}]']));
  t.same(l.problems, []);
  const test = l.tests[0]!;
  t.same(test.tables.map((p) => [p.label, p.protocol]), [['81/TCP', 'TCP'], ['serve-80-tcp/TCP', 'TCP'], ['80/SCTP', 'SCTP']]);
  t.same(test.cells.map((c) => [c.table, c.name, c.prediction.result, c.probe?.port]), [
    ['81/TCP', 'y/a -> x/b:81/TCP', 'allowed', 81],
    ['81/TCP', 'y/a -> x/d:81/TCP', 'blocked', 81],
    ['serve-80-tcp/TCP', 'y/a -> x/b:80/TCP', 'allowed', 80],
    ['serve-80-tcp/TCP', 'y/a -> x/d:8080/TCP', 'allowed', 8080],
    ['80/SCTP', 'y/a -> x/b:80/SCTP', 'allowed', undefined],
    ['80/SCTP', 'y/a -> x/d:80/SCTP', 'blocked', undefined],
  ]);
  t.same(
    test.cells.map((c) => 'probe' in c),
    [true, true, true, true, false, false],
    'SCTP cells carry no probe',
  );
  t.equal(test.cells[1]!.prediction.reason, 'x/d is isolated for ingress by x/d-named, no rule allows 81/TCP from y/a (namespace y) (x/d-named ingress[0] admits it only on serve-80-tcp/TCP)');
  t.same(test.cells.map((c) => c.via), Array(6).fill('pod IP'));
});

t.test('expect entries apply in order, the later winning; ports restrict an entry', async (t) => {
  const spec = (expect: string[]) => ['from: [{pod: x/a}]', 'to: [{namespace: y}]', 'ports: [{port: 80}, {port: 81}]', 'default: allowed', 'expect:', ...expect.map((e) => `  - ${e}`)];
  const l = resolve(
    rt('later', spec(['{to: {namespace: y}, result: blocked}', '{to: {pod: y/b}, result: allowed}', '{to: {pod: y/c}, ports: [{port: serve-81-tcp}], result: allowed}'])),
    rt('earlier', spec(['{to: {pod: y/b}, result: allowed}', '{from: {pod: x/a}, to: {namespace: y}, result: blocked}'])),
  );
  t.same(l.problems, []);
  const expected = (name: string) => l.tests.find((x) => x.name === name)!.cells.map((c) => `${c.to}:${c.port} ${c.expected}`);
  t.same(expected('later'), ['y/a:80 blocked', 'y/b:80 allowed', 'y/c:80 blocked', 'y/a:81 blocked', 'y/b:81 allowed', 'y/c:81 allowed']);
  t.same(expected('earlier'), ['y/a:80 blocked', 'y/b:80 blocked', 'y/c:80 blocked', 'y/a:81 blocked', 'y/b:81 blocked', 'y/c:81 blocked']);
});

t.test('predictions are the engine’s decisions', async (t) => {
  const onlyYOn81 = policy('x', 'y-81', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{protocol: TCP, port: 81}]}]');
  const l = resolve(onlyYOn81, rt('pod', ['to: [{pod: x/a}]', 'ports: [{port: 80}, {port: 81}]']), rt('svc', ['via: service', 'to: [{pod: x/a}]', 'ports: [{port: 80}, {port: 81}]']));
  t.same(l.problems, []);
  for (const test of l.tests) {
    for (const c of test.cells) {
      const d = l.engine.decide(podParty(pod(l, c.from)), podParty(pod(l, c.to)), c.port, c.protocol);
      t.same([c.prediction.result, c.prediction.reason], [d.allowed ? 'allowed' : 'blocked', d.reason], `${test.name}: ${c.name}`);
    }
  }
  const blocked = l.tests[0]!.cells.filter((c) => c.prediction.result === 'blocked').map((c) => c.name);
  t.same(blocked, [...MODEL_PODS.slice(1).map((k) => `${k} -> x/a:80/TCP`), ...['x/b', 'x/c', 'z/a', 'z/b', 'z/c'].map((k) => `${k} -> x/a:81/TCP`)]);
  const y80 = l.tests[0]!.cells.find((c) => c.name === 'y/a -> x/a:80/TCP')!;
  t.equal(y80.prediction.reason, 'x/a is isolated for ingress by x/y-81, no rule allows 80/TCP from y/a (namespace y) (x/y-81 ingress[0].from[0] admits it only on 81/TCP)');
  t.equal(l.tests[0]!.cells.find((c) => c.name === 'z/a -> x/a:81/TCP')!.prediction.reason, 'x/a is isolated for ingress by x/y-81, no rule allows from z/a (namespace z)');
  t.same(summary(l.tests[1]!.cells), summary(l.tests[0]!.cells), 'through the Service, the same answers');
});

t.test('via: service connects to the per-pod Service’s ClusterIP and port', async (t) => {
  const l = resolve(podD(true), rt('svc', ['via: service', 'from: [{pod: x/a}]', 'to: [{pod: y/b}, {pod: x/d}]', 'ports: [{port: 81, protocol: UDP}, {port: serve-80-tcp}]']));
  t.same(l.problems, []);
  const ip = (key: string) => l.plan.services.find((s) => s.key === key)!.clusterIP;
  t.same(
    l.tests[0]!.cells.map((c) => [c.name, c.via, c.probe, c.prediction.result, c.prediction.deliveries.map((d) => d.label)]),
    [
      ['x/a -> y/b:81/UDP', 'ClusterIP of y/s-y-b', { netns: pod(l, 'x/a').netns, ip: ip('y/s-y-b'), port: 81, protocol: 'UDP' }, 'allowed', ['y/b:81']],
      ['x/a -> y/b:80/TCP', 'ClusterIP of y/s-y-b', { netns: pod(l, 'x/a').netns, ip: ip('y/s-y-b'), port: 80, protocol: 'TCP' }, 'allowed', ['y/b:80']],
      ['x/a -> x/d:8080/TCP', 'ClusterIP of x/web-d', { netns: pod(l, 'x/a').netns, ip: ip('x/web-d'), port: 80, protocol: 'TCP' }, 'allowed', ['x/d:8080']],
    ],
  );
});

t.test('external rows: pod IPs and ClusterIPs are not routed from outside', async (t) => {
  const spec = ['from: [{external: external}, {pod: y/a}]', 'to: [{pod: x/a}]', 'ports: [{port: 80}]'];
  const l = resolve(rt('by-pod', spec), rt('by-svc', ['via: service', ...spec]));
  t.same(l.problems, []);
  const client = l.plan.internet.clients.find((c) => c.name === 'external')!;
  const [byPod, bySvc] = l.tests.map((x) => x.cells.find((c) => c.from === 'external')!);
  t.same(l.tests[0]!.rows, ['external', 'y/a']);
  t.same([byPod!.name, byPod!.expected, byPod!.prediction, byPod!.probe, byPod!.via], [
    'external -> x/a:80/TCP',
    'allowed',
    { result: 'blocked', reason: `pod IPs are not routed outside the cluster (P13): external cannot reach ${pod(l, 'x/a').ip}`, deliveries: [] },
    { netns: client.netns, ip: pod(l, 'x/a').ip, port: 80, protocol: 'TCP' },
    'pod IP',
  ]);
  const clusterIP = l.plan.services.find((s) => s.key === 'x/s-x-a')!.clusterIP!;
  t.same([bySvc!.prediction, bySvc!.probe, bySvc!.via], [
    { result: 'blocked', reason: `ClusterIPs are not routed outside the cluster: external cannot reach ${clusterIP}`, deliveries: [] },
    { netns: client.netns, ip: clusterIP, port: 80, protocol: 'TCP' },
    'ClusterIP of x/s-x-a',
  ]);
});

t.test('what a test names that the plan lacks: a problem at its line', async (t) => {
  const l = resolve(
    rt('bad', [
      'from:',
      '  - {pod: x/zz}',
      '  - {namespace: w}',
      '  - {external: mars}',
      '  - {external: external}',
      '  - {pod: x/a}',
      'to:',
      '  - external: external',
      '  - {pod: y/a}',
      'ports:',
      '  - {port: 82}',
      '  - {port: serve-82-tcp}',
      '  - {port: serve-80-tcp, protocol: UDP}',
      '  - {port: sctp-x, protocol: SCTP}',
      '  - {port: 80}',
      'expect:',
      '  - {from: {pod: z/a}, result: blocked}',
      '  - {to: {pod: x/b}, result: blocked}',
      '  - {ports: [{port: 83}], result: blocked}',
      '  - {from: {external: external}, result: blocked}',
    ]),
  );
  const at = (needle: string) => lineOf(l.text, needle, lineOf(l.text, 'metadata: {name: bad}'));
  t.same(l.problems.map((p) => [p.code, p.source?.file, p.source?.line, p.message.replace('ReachabilityTest bad: ', '')]), [
    ['bad-value', FILE, at('{pod: x/zz}'), 'from[0] names pod x/zz, which does not exist; pods of x: a, b, c'],
    ['bad-value', FILE, at('{namespace: w}'), 'from[1] names namespace w, which does not exist; namespaces: default, x, y, z, kube-system'],
    ['bad-value', FILE, at('{external: mars}'), 'from[2] names external client mars, which does not exist; external clients: external'],
    ['bad-value', FILE, at('- external: external'), 'to[0]: an external client can only be a source (in from); it is not a pod to connect to'],
    ['bad-value', FILE, at('{port: 82}'), 'port 82/TCP: no target declares container port 82/TCP'],
    ['bad-value', FILE, at('serve-82-tcp'), 'port serve-82-tcp/TCP: no target declares a container port named serve-82-tcp (TCP)'],
    ['bad-value', FILE, at('serve-80-tcp, protocol: UDP'), 'port serve-80-tcp/UDP: no target declares a container port named serve-80-tcp (UDP)'],
    ['bad-value', FILE, at('sctp-x'), 'port sctp-x/SCTP: pods serve no SCTP ports here, so an SCTP port must be a number'],
    ['bad-value', FILE, at('{pod: z/a}'), 'expect[0].from matches no row of the test (rows: external, x/a)'],
    ['bad-value', FILE, at('to: {pod: x/b}'), 'expect[1].to matches no column of the test (columns: y/a)'],
    ['bad-value', FILE, at('port: 83'), 'expect[2].ports: 83/TCP is not a port the test probes on any of its columns'],
  ]);
  t.same(l.tests[0]!.cells.map((c) => `${c.name} ${c.expected}`), ['external -> y/a:80/TCP blocked', 'x/a -> y/a:80/TCP allowed'], 'what does exist is still resolved');
  // A namespace without pods has none to list.
  const other = resolve(rt('ns-less', ['from: [{pod: w/a}]', 'to: [{pod: x/a}]']));
  t.same(other.problems.map((p) => p.message), ['ReachabilityTest ns-less: from[0] names pod w/a, which does not exist']);
});

t.test('via: service without a Service for a target: one problem per port, at the test', async (t) => {
  const l = resolve(podD(), rt('no-svc', ['via: service', 'from: [{pod: x/a}, {pod: y/a}]', 'to: [{pod: x/d}, {pod: x/b}]', 'ports: [{port: 80}, {port: 81}]']));
  const start = lineOf(l.text, 'metadata: {name: no-svc}') - 2;
  t.same(l.problems.map((p) => [p.source?.line, p.message]), [
    [start, 'ReachabilityTest no-svc: via: service, but no Service selects x/d with a port that reaches its 81/TCP; add one, or use via: pod'],
  ], 'port 80 is not x/d’s (serve-80-tcp is 8080), so only 81/TCP lacks a Service');
  t.same(l.tests[0]!.cells.map((c) => c.name), ['x/a -> x/b:80/TCP', 'y/a -> x/b:80/TCP', 'x/a -> x/b:81/TCP', 'y/a -> x/b:81/TCP']);
  const thrown = t.throws(() => checkReachabilityTests(l.world)) as unknown;
  t.ok(thrown instanceof ConfigError && thrown.problems.length === 1, 'up and apply refuse it');
  t.doesNotThrow(() => checkReachabilityTests(resolve(rt('fine', ['via: service', 'to: [{pod: x/b}]'])).world));
});

t.test('an expect port the test does not probe is a problem', async (t) => {
  const l = resolve(rt('unprobed', ['from: [{pod: x/a}]', 'to: [{pod: y/b}]', 'ports: [{port: 80}]', 'expect:', '  - {ports: [{port: 81}], result: blocked}']));
  t.same(l.tests[0]!.cells.map((c) => `${c.name} ${c.expected}`), ['x/a -> y/b:80/TCP allowed'], 'the entry matches no cell');
  t.same(l.problems.map((p) => [p.source?.line, p.message]), [[lineOf(l.text, '{ports: [{port: 81}]'), 'ReachabilityTest unprobed: expect[0].ports: 81/TCP is not a port the test probes on any of its columns']], 'reported');
});
