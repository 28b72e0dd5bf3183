import t from 'tap';
import { FILE, codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';
import { planLab } from '../../../dist/model/plan.js';
import { filePods } from '../../helpers/spec.js';

const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');

/** A Pod whose one container `c` has ports http 8080/TCP and 53/UDP and the given extra container lines. */
function pod(lines: string[]): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: p}',
    'spec:',
    '  containers:',
    '    - name: c',
    '      ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]',
    ...lines.map((l) => `      ${l}`),
  ].join('\n');
}

const probeOf = (text: string) => parse(text).pods[0]!.containers[0]!.readinessProbe;
const TIMES = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

t.test('httpGet: path defaults to /, a named or numbered port, Kubernetes timing defaults', async (t) => {
  t.same(probeOf(withLab(pod(['readinessProbe: {httpGet: {port: http}}']))), { handler: { kind: 'httpGet', path: '/', port: 'http' }, ...TIMES });
  t.same(probeOf(withLab(pod(['readinessProbe: {httpGet: {path: /ready, port: 8080, scheme: HTTP, httpHeaders: [{name: X, value: y}]}}']))), {
    handler: { kind: 'httpGet', path: '/ready', port: 8080 },
    ...TIMES,
  });
  t.same(probeOf(withLab(pod(['readinessProbe: {httpGet: {path: ready, port: 8080}}'])))?.handler, { kind: 'httpGet', path: '/ready', port: 8080 }, 'the kubelet adds the leading /');
});

t.test('tcpSocket, and timings as written (0 means the default, as in Kubernetes)', async (t) => {
  const text = withLab(
    pod(['readinessProbe:', '  tcpSocket: {port: 8080}', '  initialDelaySeconds: 2', '  periodSeconds: 1', '  timeoutSeconds: 0', '  successThreshold: 2', '  failureThreshold: 1']),
  );
  t.same(probeOf(text), { handler: { kind: 'tcpSocket', port: 8080 }, initialDelaySeconds: 2, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 2, failureThreshold: 1 });
});

t.test('exec and grpc probes cannot run here: the container counts as ready, with a notice', async (t) => {
  const text = withLab(pod(['readinessProbe: {exec: {command: [cat, /tmp/ready]}}']));
  const spec = parse(text);
  t.equal(spec.pods[0]!.containers[0]!.readinessProbe, undefined);
  const line = lineOf(text, 'readinessProbe');
  t.same(
    spec.notices.map((n) => [n.source?.line, n.message]),
    [[line, `Pod default/p container c at ${FILE}:${line}: readinessProbe.exec: exec probes cannot run in the lab (containers run no images); the container counts as ready while it runs`]],
  );
  const grpc = parse(withLab(pod(['readinessProbe: {grpc: {port: 9090}}'])));
  t.equal(grpc.pods[0]!.containers[0]!.readinessProbe, undefined);
  t.match(grpc.notices[0]!.message, /readinessProbe\.grpc: grpc probes cannot run in the lab/);
});

t.test('liveness and startup probes have no effect and are summarised once', async (t) => {
  const spec = parse(withLab(pod(['livenessProbe: {httpGet: {port: http}}', 'startupProbe: {tcpSocket: {port: 8080}}'])));
  t.equal(spec.pods[0]!.containers[0]!.readinessProbe, undefined);
  t.same(spec.notices.length, 1);
  t.match(spec.notices[0]!.message, /^no effect in the lab: livenessProbe, startupProbe /);
});

t.test('a Deployment template probe reaches every replica and the plan', async (t) => {
  const text = withLab(
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web}',
      'spec:',
      '  replicas: 2',
      '  selector: {matchLabels: {app: web}}',
      '  template:',
      '    metadata: {labels: {app: web}}',
      '    spec:',
      '      containers:',
      '        - name: web',
      '          ports: [{name: http, containerPort: 8080}]',
      '          readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1, failureThreshold: 1}',
    ].join('\n'),
  );
  const spec = parse(text);
  const expected = { handler: { kind: 'httpGet', path: '/ready', port: 'http' }, ...TIMES, periodSeconds: 1, failureThreshold: 1 };
  t.same(spec.pods.map((p) => p.containers[0]!.readinessProbe), [expected, expected]);
  t.same(filePods(planLab(spec)).map((p) => p.containers[0]!.readinessProbe), [expected, expected], 'the agent reads it from the plan');
});

const REFUSED: [string, string[], [string, string][], RegExp?][] = [
  ['a named port the container lacks', ['readinessProbe: {httpGet: {port: admin}}'], [['bad-value', 'admin']], /names no port of this container \(its named ports: http, dns\)/],
  ['two handlers', ['readinessProbe: {httpGet: {port: http}, tcpSocket: {port: 8080}}'], [['bad-value', 'readinessProbe']], /exactly one/],
  ['no handler', ['readinessProbe: {periodSeconds: 5}'], [['missing-field', 'readinessProbe']], /httpGet, tcpSocket, exec or grpc/],
  ['a misspelt field', ['readinessProbe: {tcpSocket: {port: 8080}, periodSecond: 5}'], [['unknown-field', 'periodSecond']]],
  ['a misspelt handler field', ['readinessProbe: {httpGet: {port: 8080, pat: /x}}'], [['unknown-field', 'pat']]],
  ['a negative period', ['readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: -1}'], [['bad-value', 'periodSeconds']]],
  ['a host', ['readinessProbe: {tcpSocket: {port: 8080, host: 10.0.0.1}}'], [['bad-value', 'host']], /probes go to the pod IP/],
  ['HTTPS', ['readinessProbe: {httpGet: {port: 8080, scheme: HTTPS}}'], [['bad-value', 'HTTPS']], /plain HTTP/],
  ['terminationGracePeriodSeconds', ['readinessProbe: {tcpSocket: {port: 8080}, terminationGracePeriodSeconds: 5}'], [['bad-value', 'terminationGracePeriodSeconds']]],
  ['a handler without port', ['readinessProbe: {tcpSocket: {}}'], [['missing-field', 'readinessProbe']]],
  ['a quoted numeric port', ['readinessProbe: {tcpSocket: {port: "8080"}}'], [['bad-name', '"8080"']], /quoted number/],
  ['a port out of range', ['readinessProbe: {tcpSocket: {port: 0}}'], [['bad-value', 'port: 0']]],
  ['a handler that is not a mapping', ['readinessProbe: {httpGet: /ready}'], [['bad-value', 'readinessProbe']]],
];

t.test('refused probes, each at its line', async (t) => {
  for (const [name, lines, expected, message] of REFUSED) {
    const text = withLab(pod(lines));
    const ps = problems(text);
    t.same(
      codesAndLines(ps),
      expected.map(([code, needle]) => [code, lineOf(text, needle, lineOf(text, '- name: c'))]),
      name,
    );
    if (message) t.match(ps[0]?.message ?? '', message, `${name}: message`);
  }
});
