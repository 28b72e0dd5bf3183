import t from 'tap';
import { formatJson, formatJunit, formatTap, summaryLine, type CheckResult, type VerifyReport } from '../../../dist/verify/report.js';
import { parseLab } from '../../../dist/config/index.js';
import { planLab } from '../../../dist/model/plan.js';
import { proxyInputs } from '../../../dist/model/endpoints.js';
import { PolicyEngine } from '../../../dist/components/network-policy/engine.js';
import { makeWorld } from '../../../dist/reachability/predict.js';
import { resolveReachabilityTests } from '../../../dist/reachability/resolve.js';
import { cellDetails, measuredTable } from '../../../dist/reachability/report.js';
import type { MeasuredTest } from '../../../dist/reachability/run.js';

const report: VerifyReport = {
  lab: 'demo',
  backend: 'host-gw',
  results: [
    { path: 'P2', name: 'P2 pod a -> b on node1 via cbr0', ok: true, details: ['ping ok'], durationMs: 12 },
    { path: 'P3', name: 'P3 pod a (node1) -> c (node2) # hash & <xml>', ok: false, details: ['ping 10.244.1.2 got no reply'], durationMs: 2003 },
  ],
};

t.test('TAP 14 with diagnostics for failures', async (t) => {
  t.equal(
    formatTap(report),
    `TAP version 14
1..2
ok 1 - P2 pod a -> b on node1 via cbr0
not ok 2 - P3 pod a (node1) -> c (node2) \\# hash & <xml>
  ---
  path: P3
  details:
    - "ping 10.244.1.2 got no reply"
  duration_ms: 2003
  ...
# pass 1
# fail 1
`,
  );
});

t.test('JUnit escapes and counts', async (t) => {
  const xml = formatJunit(report);
  t.match(xml, /<testsuite name="demo" tests="2" failures="1" errors="0"/);
  t.match(xml, /name="P3 pod a \(node1\) -&gt; c \(node2\) # hash &amp; &lt;xml&gt;"/);
  t.match(xml, /<failure message="ping 10.244.1.2 got no reply">/);
});

t.test('JSON and the summary line', async (t) => {
  const json = JSON.parse(formatJson(report));
  t.same([json.passed, json.failed, json.checks.length], [1, 1, 2]);
  t.equal(summaryLine(report), '1 passed, 1 failed');
});

/**
 * A ReachabilityTest's cells as `verify` reports them: resolved from a lab
 * (so the names are the resolver's), measured here by hand as the kernel
 * would (x/deny drops y/b -> x/a, which the user expected allowed), and
 * turned into REACH results the way verifyLab does.
 */
const REACH_LAB = `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: demo}
---
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Namespace
metadata: {name: y}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y, labels: {pod: b}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: kube-netlab.dev/v1alpha1
kind: ReachabilityTest
metadata: {name: web}
spec:
  from: [{namespace: x}, {namespace: y}]
  to: [{namespace: x}, {namespace: y}]
  ports: [{port: 80}]
  default: allowed
`;

function reachReport(): VerifyReport {
  const plan = planLab(parseLab([{ file: 'reach.yaml', text: REACH_LAB }]));
  const { tests, problems } = resolveReachabilityTests(makeWorld(plan, PolicyEngine.fromPlan(plan), proxyInputs(plan, () => true)));
  if (problems.length) throw new Error(problems.map((p) => p.message).join('; '));
  const measured: MeasuredTest[] = tests.map((test) => ({
    ...test,
    cells: test.cells.map((c) => {
      const blocked = c.prediction.result === 'blocked';
      const outcome = blocked ? { outcome: 'timeout' as const, ms: 1000, detail: 'no answer within 1000 ms' } : { outcome: 'connected' as const, ms: 3, detail: 'connected in 3 ms' };
      const m = blocked ? ('blocked' as const) : ('allowed' as const);
      return { ...c, measured: m, outcome, ok: m === c.expected, ...(m === c.expected ? {} : { kernel: ['node1 filter NETPOL-POD-ING-X: "x/a is isolated for ingress by x/deny; no rule allows it"'] }) };
    }),
  }));
  // As verifyLab turns cells into results.
  const cells: CheckResult[] = measured.flatMap((test) => test.cells.map((c) => ({ path: 'REACH' as const, name: c.name, ok: c.ok, details: cellDetails(c), durationMs: c.outcome?.ms ?? 0, group: test.name })));
  return { lab: 'demo', backend: 'host-gw', results: [report.results[0]!, ...cells], reachability: measured };
}

t.test('ReachabilityTest cells: one test case each, named FROM -> TO:PORT/PROTO, the mismatch explained', async (t) => {
  const r = reachReport();
  const test = r.reachability![0]!;
  t.same(
    r.results.map((x) => [x.path, x.name, x.ok]),
    [
      ['P2', 'P2 pod a -> b on node1 via cbr0', true],
      ['REACH', 'x/a -> y/b:80/TCP', true],
      ['REACH', 'y/b -> x/a:80/TCP', false],
    ],
    'the resolver names each cell FROM -> TO:PORT/PROTO with pods as namespace/name; x/deny blocks y/b -> x/a, expected allowed',
  );
  const bad = r.results[2]!;
  t.match(bad.details[0], /^expected allowed, predicted blocked, measured blocked \(no answer within 1000 ms\); via pod IP$/);
  t.match(bad.details[1], /^policy: .*x\/deny/, 'the policy that decided it');

  const tap = formatTap(r);
  const lines = tap.split('\n');
  t.same(lines.slice(0, 5), ['TAP version 14', '1..3', 'ok 1 - P2 pod a -> b on node1 via cbr0', 'ok 2 - x/a -> y/b:80/TCP', 'not ok 3 - y/b -> x/a:80/TCP']);
  t.same(lines.slice(5, 9), ['  ---', '  path: REACH', '  details:', `    - ${JSON.stringify(bad.details[0])}`]);
  t.ok(lines.includes(`    - ${JSON.stringify('kernel: node1 filter NETPOL-POD-ING-X: "x/a is isolated for ingress by x/deny; no rule allows it"')}`), 'the kernel rule that matched, quoted as YAML');
  t.ok(lines.includes('  duration_ms: 1000'));
  const tableAt = lines.indexOf('# ReachabilityTest web 80/TCP (via pod):');
  t.ok(tableAt > lines.indexOf('not ok 3 - y/b -> x/a:80/TCP'), 'the truth table follows the cells, as comments');
  t.same(lines.slice(tableAt + 1, tableAt + 4), measuredTable(test, '80/TCP').split('\n').map((l) => `#   ${l}`));
  t.same(lines.slice(-3), ['# pass 2', '# fail 1', '']);

  const xml = formatJunit(r);
  t.match(xml, /<testsuite name="demo" tests="3" failures="1" errors="0"/);
  t.match(xml, /<testcase classname="kube-netlab\.demo\.web" name="x\/a -&gt; y\/b:80\/TCP" time="0\.003"\/>/, 'a cell that holds: its class is the ReachabilityTest');
  t.match(
    xml,
    /<testcase classname="kube-netlab\.demo\.web" name="y\/b -&gt; x\/a:80\/TCP" time="1\.000">\n      <failure message="expected allowed, predicted blocked, measured blocked \(no answer within 1000 ms\); via pod IP">expected allowed/,
    'the mismatching cell fails with the expectation as message',
  );
  t.match(xml, /kernel: node1 filter NETPOL-POD-ING-X: &quot;x\/a is isolated for ingress by x\/deny; no rule allows it&quot;<\/failure>/);
  t.match(xml, /classname="kube-netlab\.demo\.P2"/, 'path checks keep their path as class');

  const json = JSON.parse(formatJson(r));
  t.same([json.passed, json.failed], [2, 1]);
  t.same(json.checks[2], { path: 'REACH', name: 'y/b -> x/a:80/TCP', ok: false, details: bad.details, durationMs: 1000, group: 'web' });
  t.same(
    json.reachability[0].cells.map((c: { name: string; ok: boolean; expected: string; predicted: string; measured: string }) => [c.name, c.ok, c.expected, c.predicted, c.measured]),
    [
      ['x/a -> y/b:80/TCP', true, 'allowed', 'allowed', 'allowed'],
      ['y/b -> x/a:80/TCP', false, 'allowed', 'blocked', 'blocked'],
    ],
  );
  t.equal(summaryLine(r), '2 passed, 1 failed');
});
