/**
 * kube-proxy's controller without a kernel: the applier is a recorder.
 * The first sync writes every node in full; a kick with nothing changed
 * writes nothing; an endpoint that leaves makes a partial sync; a node
 * whose transaction fails is retried, from scratch in iptables mode
 * (iptables-restore commits table by table) and from the last applied
 * state in nftables mode (nft applies all or nothing).
 */
import t from 'tap';
import { ProxyController, type ProxyView } from '../../../../dist/components/kube-proxy/controller.js';
import { proxyInputs } from '../../../../dist/model/endpoints.js';
import { planLab } from '../../../../dist/model/plan.js';
import type { ProxyMode } from '../../../../dist/spec/lab.js';
import { labSpec, pod, service } from '../../../helpers/spec.js';
import { eventually } from '../../../helpers/eventually.js';

function setup(mode: ProxyMode, failOnce: Set<string> = new Set()) {
  const base = labSpec({
    pods: [pod('default', 'web-1', { nodeName: 'node1', labels: { app: 'web' } }), pod('default', 'web-2', { nodeName: 'node2', labels: { app: 'web' } })],
    services: [service('default', 'web')],
  });
  const plan = planLab({ ...base, serviceNetwork: { ...base.serviceNetwork, proxyMode: mode } });
  let ready = new Set(plan.pods.map((p) => p.key));
  let version = 1;
  const view = (): ProxyView => ({ planVersion: `v${version}`, netns: new Map(plan.nodes.map((n) => [n.name, n.netns])), inputs: proxyInputs(plan, (k) => ready.has(k)) });
  const applied: { netns: string; text: string }[] = [];
  const logs: string[] = [];
  const controller = new ProxyController(
    mode,
    view,
    (l) => logs.push(l),
    () => {},
    async (_mode, netns, text) => {
      if (failOnce.delete(netns)) throw new Error(`${netns}: refused`);
      applied.push({ netns, text });
    },
    5,
  );
  const settled = () => eventually(() => !controller.status().pending && controller.status().syncedPlan === `v${version}`, { what: 'the sync to settle' });
  return {
    plan,
    controller,
    applied,
    logs,
    settled,
    unready: (key: string) => {
      ready = new Set([...ready].filter((k) => k !== key));
      version++;
    },
  };
}

for (const mode of ['iptables', 'nftables'] as const) {
  t.test(`${mode}: full first sync, nothing for an unchanged view, a partial sync for a change`, async (t) => {
    const s = setup(mode);
    t.teardown(() => s.controller.stop());
    s.controller.kick();
    await s.settled();
    t.same(s.applied.map((a) => a.netns), s.plan.nodes.map((n) => n.netns), 'every node once');
    const full = s.applied[0]!.text;
    t.match(full, mode === 'iptables' ? /:KUBE-SERVICES/ : /table ip kube-proxy/);
    t.equal(s.controller.status().syncs, 1);

    s.controller.kick();
    await s.settled();
    t.equal(s.applied.length, 3, 'an unchanged view writes nothing');

    const gone = s.plan.pods.find((p) => p.name === 'web-2')!;
    s.unready(gone.key);
    s.controller.kick();
    await s.settled();
    t.equal(s.applied.length, 6, 'each node once more');
    const partial = s.applied[3]!.text;
    t.ok(partial.length < full.length, 'the second sync writes less than the first');
    t.notMatch(partial, new RegExp(`${gone.ip.replace(/\./g, '\\.')}:8080`), 'the endpoint that left is not written');
    t.equal(s.controller.status().syncs, 2);
  });

  t.test(`${mode}: a node whose first sync fails is retried until it holds the rules; the others are not rewritten`, async (t) => {
    const failing = new Set<string>();
    const s = setup(mode, failing);
    t.teardown(() => s.controller.stop());
    const node2 = s.plan.nodes[1]!.netns;
    failing.add(node2);
    s.controller.kick();
    await s.settled();
    t.equal(s.controller.status().lastError, undefined, 'recovered');
    t.same(s.applied.map((a) => a.netns).sort(), s.plan.nodes.map((n) => n.netns).sort(), 'each node once: node2 on the retry, the others not again');
    const failedAt = s.logs.findIndex((l) => l.includes(`kube-proxy sync failed, retrying every 5 ms: node node2: ${node2}: refused`));
    const recoveredAt = s.logs.findIndex((l) => l === 'kube-proxy sync recovered');
    t.ok(failedAt >= 0 && recoveredAt > failedAt, `the failure, then the recovery, logged: ${s.logs.join(' | ')}`);
    t.match(s.applied.find((a) => a.netns === node2)!.text, mode === 'iptables' ? /:KUBE-SERVICES/ : /table ip kube-proxy/, 'a complete sync');
  });
}

t.test('a new controller writes what an older one wrote first: what a controller remembers is its own', async (t) => {
  for (const mode of ['iptables', 'nftables'] as const) {
    const older = setup(mode);
    t.teardown(() => older.controller.stop());
    older.controller.kick();
    await older.settled();
    older.unready(older.plan.pods.find((p) => p.name === 'web-2')!.key);
    older.controller.kick();
    await older.settled();
    const newer = setup(mode);
    t.teardown(() => newer.controller.stop());
    newer.controller.kick();
    await newer.settled();
    t.same(newer.applied.map((a) => a.text), older.applied.slice(0, 3).map((a) => a.text), `${mode}: the same full sync, byte for byte`);
  }
});

for (const [mode, full] of [
  ['iptables', true],
  ['nftables', false],
] as const) {
  const what = full ? 'written in full again (iptables-restore commits table by table)' : 'still a partial sync (nft kept what it had)';
  t.test(`${mode}: after a failed partial sync the node is ${what}`, async (t) => {
    const failing = new Set<string>();
    const s = setup(mode, failing);
    t.teardown(() => s.controller.stop());
    s.controller.kick();
    await s.settled();
    const node1 = s.plan.nodes[0]!.netns;
    const first = s.applied.find((a) => a.netns === node1)!.text;
    failing.add(node1);
    s.unready(s.plan.pods.find((p) => p.name === 'web-2')!.key);
    s.controller.kick();
    await s.settled();
    const retried = s.applied.filter((a) => a.netns === node1).at(-1)!.text;
    if (full) t.match(retried, /:KUBE-SERVICES/, 'every chain declared again');
    t.equal(retried.length >= first.length * 0.8, full, `the retry writes ${retried.length} bytes, the first sync ${first.length}`);
  });
}
