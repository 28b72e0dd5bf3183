/**
 * The policy engine against every case of the upstream e2e truth-table
 * suite (test/fixtures/netpol/upstream-cases.ts) and the public cases of
 * the reference: the manifests go through the real reader and planner, and
 * every cell of every probed port must equal upstream's expectation.
 */
import t from 'tap';
import { parseLab } from '../../../../dist/config/index.js';
import { planLab } from '../../../../dist/model/plan.js';
import { PolicyEngine } from '../../../../dist/components/network-policy/engine.js';
import { upstreamCases } from '../../../fixtures/netpol/upstream-cases.js';
import { MODEL_PODS, expectedCells, labDocument, modelManifests, substitute } from '../../../helpers/netpol-model.js';
import type { CaseStep } from '../../../fixtures/netpol/upstream-cases.js';

const base = planLab(parseLab([{ file: 'model.yaml', text: `${labDocument('m', 'host-gw', 'iptables')}---\n${modelManifests()}` }]));

function engineFor(step: CaseStep): { engine: PolicyEngine; plan: typeof base } {
  const policies = step.policies.map((p) => substitute(p, base)).join('---\n');
  const text = `${labDocument('m', 'host-gw', 'iptables')}---\n${modelManifests(step)}${policies ? `---\n${policies}` : ''}`;
  const plan = planLab(parseLab([{ file: 'model.yaml', text }]), base);
  return { engine: PolicyEngine.fromPlan(plan), plan };
}

t.test('the model plan keeps every pod on its IP across steps', async (t) => {
  t.equal(base.pods.filter((p) => MODEL_PODS.includes(p.key)).length, 9);
});

for (const c of upstreamCases) {
  t.test(`${c.id}: ${c.upstream}`, async (t) => {
    if (c.unsupported) {
      t.skip(c.unsupported);
      return;
    }
    t.ok(c.steps.length > 0, 'the case has steps');
    c.steps.forEach((step, s) => {
      const { engine, plan } = engineFor(step);
      const pods = new Map(plan.pods.map((p) => [p.key, p]));
      for (const e of step.expect) {
        const want = expectedCells(e);
        const wrong: string[] = [];
        for (const [cell, allowed] of want) {
          const [from, to] = cell.split(' -> ') as [string, string];
          const d = engine.decide({ kind: 'pod', pod: pods.get(from)! }, { kind: 'pod', pod: pods.get(to)! }, e.port, e.protocol);
          if (d.allowed !== allowed) wrong.push(`${cell}: engine ${d.allowed ? 'allowed' : 'blocked'} (${d.reason}), upstream ${allowed ? 'allowed' : 'blocked'}`);
        }
        t.same(wrong, [], `step ${s}${step.note ? ` (${step.note})` : ''}, ${e.port}/${e.protocol}: all ${want.size} cells as upstream`);
      }
    });
  });
}
