/**
 * The shipped examples cannot rot: lab/netpol.yaml and
 * lab/netpol-truth-table.yaml are read as `up -f` reads them (loadLab, then
 * the plan), their ReachabilityTests resolved as `up`/`apply` check them
 * (every pod ready) and as `verify` resolves them, and every cell's engine
 * prediction must equal the expectation the file writes. No root: nothing
 * is created.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../../../../dist/config/index.js';
import { planLab } from '../../../../dist/model/plan.js';
import { proxyInputs } from '../../../../dist/model/endpoints.js';
import { PolicyEngine } from '../../../../dist/components/network-policy/engine.js';
import { makeWorld } from '../../../../dist/reachability/predict.js';
import { resolveReachabilityTests } from '../../../../dist/reachability/resolve.js';
import { checkPlannedTests } from '../../../../dist/apply/tests.js';

const labFile = (name: string) => fileURLToPath(new URL(`../../../../lab/${name}`, import.meta.url));

function resolveExample(name: string) {
  const spec = loadLab([labFile(name)]);
  const plan = planLab(spec);
  const world = makeWorld(plan, PolicyEngine.fromPlan(plan), proxyInputs(plan, () => true));
  return { spec, plan, ...resolveReachabilityTests(world) };
}

/** `NAME expected X, predicted Y (reason)` for each cell where the engine and the file disagree. */
function disagreements(tests: ReturnType<typeof resolveExample>['tests']): string[] {
  return tests.flatMap((test) => test.cells.filter((c) => c.prediction.result !== c.expected).map((c) => `${test.name}: ${c.name} expected ${c.expected}, predicted ${c.prediction.result} (${c.prediction.reason})`));
}

t.test('lab/netpol.yaml: every cell of every ReachabilityTest is predicted as the file expects', async (t) => {
  const l = resolveExample('netpol.yaml');
  t.equal(l.spec.name, 'netpol');
  t.same(l.problems, [], 'the tests name only what the lab has');
  t.doesNotThrow(() => checkPlannedTests(l.plan), 'up and apply accept the file');
  t.same(l.tests.map((x) => x.name), ['store-tiers', 'store-from-internet', 'store-egress']);
  for (const test of l.tests) t.ok(test.cells.length > 0, `${test.name} has cells (${test.cells.length})`);
  t.same(disagreements(l.tests), [], 'the engine agrees with every expectation');
  const cells = l.tests.flatMap((x) => x.cells);
  t.ok(cells.some((c) => c.expected === 'allowed') && cells.some((c) => c.expected === 'blocked'), 'the examples state both what must and what must not connect');
  // A few cells named, so a change that empties a table does not pass unnoticed.
  const tiers = l.tests[0]!.cells;
  const frontendToApi = tiers.filter((c) => /^store\/frontend-.* -> store\/api-.*:9000\/TCP$/.test(c.name));
  t.ok(frontendToApi.length > 0 && frontendToApi.every((c) => c.expected === 'allowed' && c.prediction.result === 'allowed'), 'frontend -> api http is allowed');
  const frontendToDb = tiers.filter((c) => /^store\/frontend-.* -> store\/db-0:5432\/TCP$/.test(c.name));
  t.ok(frontendToDb.length > 0 && frontendToDb.every((c) => c.expected === 'blocked' && c.prediction.result === 'blocked'), 'frontend -> db is blocked');
  const promToApiMetrics = tiers.filter((c) => /^monitoring\/prometheus -> store\/api-.*:9090\/TCP$/.test(c.name));
  t.ok(promToApiMetrics.length > 0 && promToApiMetrics.every((c) => c.expected === 'allowed' && c.prediction.result === 'allowed'), 'prometheus -> api metrics is allowed');
  const internet = l.tests[1]!.cells;
  t.ok(internet.some((c) => c.expected === 'allowed') && internet.every((c) => c.from === 'external'), 'the internet reaches the frontend only');
});

t.test('lab/netpol-truth-table.yaml: the upstream case, 9 x 9 on four ports, as upstream expects it', async (t) => {
  const l = resolveExample('netpol-truth-table.yaml');
  t.equal(l.spec.name, 'truth-table');
  t.same(l.problems, []);
  t.doesNotThrow(() => checkPlannedTests(l.plan));
  t.equal(l.tests.length, 1);
  const test = l.tests[0]!;
  t.same(test.tables.map((p) => p.label), ['80/TCP', '81/TCP', '80/UDP', '81/UDP']);
  t.equal(test.cells.length, 4 * 9 * 8, 'four tables of 9 x 9 cells less the self cells');
  t.ok(test.cells.every((c) => c.via.startsWith('ClusterIP of ')), 'via: service: every cell goes through its target’s ClusterIP');
  t.same(disagreements(l.tests), [], 'the engine agrees with every expectation');
  const blocked = [...new Set(test.cells.filter((c) => c.prediction.result === 'blocked').map((c) => `${c.from} -> ${c.to}`))];
  t.same(blocked, ['x/b -> x/a', 'x/c -> x/a', 'y/a -> x/a', 'y/c -> x/a', 'z/a -> x/a', 'z/c -> x/a'], 'x/a admits only y/b and z/b, on every port');
});
