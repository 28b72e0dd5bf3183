import t from 'tap';
import { healthTargetKey, loadBalancersOf, type LoadBalancerSet } from '../../../../dist/components/load-balancer/config.js';
import { HealthTable } from '../../../../dist/components/load-balancer/health.js';
import { renderLoadBalancerRules, targetsOf } from '../../../../dist/components/load-balancer/lb-rules.js';
import { planLab } from '../../../../dist/model/plan.js';
import { labSpec, pod, service } from '../../../helpers/spec.js';

const SET: LoadBalancerSet = {
  nodes: [
    { name: 'node1', ip: '192.168.56.11' },
    { name: 'node2', ip: '192.168.56.12' },
  ],
  balancers: [
    { service: 'default/web', ip: '203.0.113.192', sourceRanges: [], ports: [{ protocol: 'TCP', port: 80, nodePort: 30080 }], healthCheck: { kind: 'tcp', port: 30080 } },
    {
      service: 'shop/api',
      ip: '203.0.113.193',
      sourceRanges: ['203.0.113.0/28', '198.51.100.0/24'],
      ports: [{ protocol: 'UDP', port: 53, nodePort: 30053 }],
      healthCheck: { kind: 'http', port: 31000, path: '/healthz' },
    },
  ],
};

t.test('the table: source ranges before DNAT, one vmap of LB IP . proto . port, a random pick among the targets', async (t) => {
  const text = renderLoadBalancerRules(SET, (lb) => (lb.service === 'default/web' ? ['node1', 'node2'] : ['node2']));
  t.equal(
    text,
    `add table ip kube-netlab-lb
delete table ip kube-netlab-lb
table ip kube-netlab-lb {
\tchain firewall {
\t\ttype filter hook prerouting priority dstnat - 10; policy accept;
\t\tip daddr 203.0.113.193 udp dport 53 ip saddr != { 203.0.113.0/28, 198.51.100.0/24 } counter drop comment "shop/api loadBalancerSourceRanges"
\t}
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr . meta l4proto . th dport vmap { 203.0.113.192 . tcp . 80 : goto lb-default/web/tcp/80, 203.0.113.193 . udp . 53 : goto lb-shop/api/udp/53 }
\t}
\tchain lb-default/web/tcp/80 {
\t\tnumgen random mod 2 vmap { 0 : goto lb-default/web/tcp/80/node1, 1 : goto lb-default/web/tcp/80/node2 }
\t}
\tchain lb-default/web/tcp/80/node1 {
\t\tmeta l4proto tcp counter dnat to 192.168.56.11:30080
\t}
\tchain lb-default/web/tcp/80/node2 {
\t\tmeta l4proto tcp counter dnat to 192.168.56.12:30080
\t}
\tchain lb-shop/api/udp/53 {
\t\tnumgen random mod 1 vmap { 0 : goto lb-shop/api/udp/53/node2 }
\t}
\tchain lb-shop/api/udp/53/node2 {
\t\tmeta l4proto udp counter dnat to 192.168.56.12:30053
\t}
}
`,
  );
});

t.test('targets: the healthy nodes; every node when none is (fail open)', async (t) => {
  const lb = SET.balancers[0]!;
  t.same(targetsOf(SET, lb, (n) => n === 'node2'), ['node2']);
  t.same(targetsOf(SET, lb, () => false), ['node1', 'node2']);
});

t.test('health: first result counts at once, then 2 in a row to flip either way', async (t) => {
  const h = new HealthTable({ unhealthy: 2, healthy: 2 });
  h.retain(['a', 'b']);
  t.equal(h.isHealthy('a'), false, 'unknown before the first check');
  t.equal(h.record('a', true), true);
  t.equal(h.record('b', false, 'refused'), true);
  t.equal(h.lastError('b'), 'refused');
  t.equal(h.record('a', false, 'timeout'), false, 'one failure is not enough');
  t.equal(h.isHealthy('a'), true);
  t.equal(h.record('a', true), false, 'a success resets the streak');
  t.equal(h.record('a', false, 'timeout'), false);
  t.equal(h.record('a', false, 'timeout'), true, 'two in a row: out');
  t.equal(h.isHealthy('a'), false);
  t.equal(h.record('a', true), false);
  t.equal(h.record('a', true), true, 'two successes: back');
  t.equal(h.lastError('a'), undefined);
  h.retain(['a']);
  t.equal(h.record('b', true), false, 'a dropped target is forgotten');
  h.retain(['a', 'c']);
  t.equal(h.record('c', false, 'refused'), true, 'a new target that fails at once is out');
  t.equal(h.record('c', false, 'refused'), false);
  t.equal(h.record('c', true), true, 'never passed before: in on its first success (its node was still starting)');
  t.equal(h.isHealthy('c'), true);
  t.equal(h.record('c', false), false, 'from then on the thresholds apply');
});

t.test('from the plan: Local services are checked on their health check node port, Cluster ones by TCP on the node port', async (t) => {
  const spec = labSpec({
    pods: [pod('default', 'web'), pod('default', 'api')],
    services: [
      service('default', 'web', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['203.0.113.0/24'] }),
      service('default', 'api', { type: 'LoadBalancer' }),
      service('default', 'dns', { type: 'LoadBalancer', ports: [{ protocol: 'UDP', port: 53, targetPort: 53 }] }),
    ],
  });
  const plan = planLab(spec);
  const set = loadBalancersOf(plan);
  const byName = new Map(set.balancers.map((b) => [b.service, b]));
  const web = plan.services.find((s) => s.key === 'default/web')!;
  const api = plan.services.find((s) => s.key === 'default/api')!;
  t.same(byName.get('default/web')!.healthCheck, { kind: 'http', port: web.healthCheckNodePort, path: '/healthz' });
  t.same(byName.get('default/web')!.sourceRanges, ['203.0.113.0/24']);
  t.same(byName.get('default/api')!.healthCheck, { kind: 'tcp', port: api.ports[0]!.nodePort });
  t.same(byName.get('default/dns')!.healthCheck, { kind: 'none' });
  t.same(set.nodes.map((n) => n.ip), ['192.168.56.11', '192.168.56.12', '192.168.56.13']);
  t.equal(healthTargetKey('node1', { kind: 'tcp', port: 30080 }), 'node1/tcp/30080');
});
