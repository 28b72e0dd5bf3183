import t from 'tap';
import { NodeLifecycle } from '../../../dist/agent/node-lifecycle.js';
import { parse } from '../../fixtures/config/helpers.js';

t.test('a node unheard of for the grace period is NotReady; heard again, Ready at once', async (t) => {
  let now = 1_000_000;
  const nodes = new NodeLifecycle(() => 40_000, () => now);
  t.same(nodes.conditions(['node1', 'node2']), [
    { name: 'node1', ready: true },
    { name: 'node2', ready: true },
  ]);
  nodes.setReachable('node1', false);
  now += 39_999;
  t.equal(nodes.notReady('node1'), false, 'still within the grace period');
  t.match(nodes.conditions(['node1'])[0], { ready: true, unreachableSince: new Date(1_000_000).toISOString() });
  nodes.setReachable('node1', false);
  now += 1;
  t.equal(nodes.notReady('node1'), true, 'a second report does not restart the clock');
  t.equal(nodes.notReady('node2'), false);
  nodes.setReachable('node1', true);
  t.same(nodes.conditions(['node1']), [{ name: 'node1', ready: true }]);
});

t.test('the grace period is a Lab setting, 40 s by default as upstream', async (t) => {
  const lab = (extra: string) => `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: t}\nspec:\n${extra}`;
  t.equal(parse(lab('  mtu: 1500')).nodeMonitorGracePeriodSeconds, 40);
  t.equal(parse(lab('  nodeMonitorGracePeriodSeconds: 5')).nodeMonitorGracePeriodSeconds, 5);
  t.throws(() => parse(lab('  nodeMonitorGracePeriodSeconds: 0')), { problems: [{ message: /spec.nodeMonitorGracePeriodSeconds must be an integer from 1 to 600/ }] });
});
