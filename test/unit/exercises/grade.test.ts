/** The grader's three conditions, and the rebuilt lab, on recorded measurements. */
import t from 'tap';
import type { Difference } from '../../../dist/check/compare.js';
import { grade, gradeLines } from '../../../dist/exercises/grade.js';

const FAULT: Difference = { place: 'node2', component: 'sysctl', object: 'sysctl net.ipv4.ip_forward', problem: '0 (expected 1)' };
const OK = { ok: true, detail: 'ping 10.244.0.2: 64 bytes' };
const FAIL = { ok: false, detail: 'ping 10.244.0.2 from default/toolbox got no reply' };
const conditions = (g: ReturnType<typeof grade>) => Object.fromEntries(g.conditions.map((c) => [c.name, c.ok]));

t.test('(a) the symptom, (b) the root cause, (c) nothing else: all three must hold', async (t) => {
  const fixed = grade({ exercise: 'x', symptom: [OK], fault: [FAULT], differences: [], verify: { passed: 234, failed: [] } });
  t.ok(fixed.passed);
  t.same(conditions(fixed), { symptom: true, 'root cause': true, 'nothing else broken': true });
  t.match(gradeLines(fixed).join('\n'), /verify 234 passed/);

  const untouched = grade({ exercise: 'x', symptom: [FAIL], fault: [FAULT], differences: [FAULT] });
  t.notOk(untouched.passed);
  t.same(conditions(untouched), { symptom: false, 'root cause': false, 'nothing else broken': false });
  t.match(gradeLines(untouched).join('\n'), /the root cause is not repaired:\n\s+node2  sysctl  sysctl net.ipv4.ip_forward: 0 \(expected 1\)/);
  t.match(gradeLines(untouched).join('\n'), /got no reply/, 'the failing probe is named');
});

t.test('a workaround that makes the symptom go away is no fix: the root cause is still named', async (t) => {
  const route: Difference = { place: 'node1', component: 'host-gw', object: 'route 10.244.1.0/24', problem: 'missing (expected via 192.168.56.12 dev eth0)' };
  const detour = { ...route, problem: 'via 192.168.56.13 dev eth0 (expected via 192.168.56.12 dev eth0)' };
  const g = grade({ exercise: 'x', symptom: [OK], fault: [route], differences: [detour] });
  t.notOk(g.passed);
  t.same(conditions(g), { symptom: true, 'root cause': false, 'nothing else broken': false });
  t.match(gradeLines(g).join('\n'), /via 192.168.56.13/, 'the object is the same even when its problem changed');
});

t.test('the same object under another component is still the root cause', async (t) => {
  const chain: Difference = { place: 'node3', component: 'portmap', object: 'nat chain PREROUTING', problem: '1 rule missing: ...' };
  const g = grade({ exercise: 'x', symptom: [OK], fault: [chain], differences: [{ ...chain, component: 'kube-proxy', problem: '1 rule differs: ...' }] });
  t.notOk(g.conditions.find((c) => c.name === 'root cause')!.ok);
});

t.test('(c) names what else differs, or the paths verify finds broken', async (t) => {
  const flushed: Difference = { place: 'node2', component: 'kube-proxy', object: 'nat chain KUBE-SERVICES', problem: 'missing (expected 14 rules)' };
  const g = grade({ exercise: 'x', symptom: [OK], fault: [FAULT], differences: [flushed] });
  t.same(conditions(g), { symptom: true, 'root cause': true, 'nothing else broken': false });
  t.match(gradeLines(g).join('\n'), /1 other object\(s\) differ from the plan[^]*nat chain KUBE-SERVICES: missing/);

  const red = grade({ exercise: 'x', symptom: [OK], fault: [FAULT], differences: [], verify: { passed: 230, failed: ['P5 pod default/toolbox -> service default/web: timed out'] } });
  t.same(conditions(red), { symptom: true, 'root cause': true, 'nothing else broken': false });
  t.match(gradeLines(red).join('\n'), /verify: 1 path check\(s\) fail:\n\s+P5 pod default\/toolbox/);

  const unjudged = grade({ exercise: 'x', symptom: [FAIL], fault: [FAULT], differences: [FAULT] });
  t.match(unjudged.conditions[2]!.lines.join('\n'), /not judged yet: verify runs once check is clean/);
});

t.test('a rebuilt lab fails outright and says to start again', async (t) => {
  const g = grade({ exercise: 'forwarding-off', rebuiltAt: '2026-12-06T12:00:00.000Z', symptom: [OK], fault: [FAULT], differences: [] });
  t.notOk(g.passed);
  t.same(g.conditions.map((c) => c.name), ['lab']);
  t.match(gradeLines(g).join('\n'), /the lab was rebuilt \(kube-netlab up, 2026-12-06T12:00:00.000Z\)[^]*kube-netlab exercise start forwarding-off/);
});
