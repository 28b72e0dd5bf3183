import t from 'tap';
import { ConfigError } from '../../../../dist/util/errors.js';
import { allocateLoadBalancerIPs, describePool, loadBalancerPool } from '../../../../dist/model/load-balancers.js';
import { planLab } from '../../../../dist/model/plan.js';
import type { ConfigProblem } from '../../../../dist/util/errors.js';
import { labSpec, pod, service } from '../../../helpers/spec.js';

const lb = (name: string, extra = {}) => service('default', name, { type: 'LoadBalancer', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: undefined as unknown as number }], ...extra });

t.test('the pool is the last quarter of the external network, broadcast excluded', async (t) => {
  t.same(loadBalancerPool('203.0.113.0/24'), { first: 192, last: 254 });
  t.equal(describePool('203.0.113.0/24'), '203.0.113.192-203.0.113.254');
  t.same(loadBalancerPool('198.51.100.0/28'), { first: 12, last: 14 }, 'a /28 keeps .1-.10 for the lab');
});

t.test('lowest free pool address, asked-for addresses honoured, servers skipped, previous kept', async (t) => {
  const problems: ConfigProblem[] = [];
  const got = allocateLoadBalancerIPs(
    {
      externalCidr: '203.0.113.0/24',
      taken: ['203.0.113.192'],
      services: [lb('a'), lb('b', { loadBalancerIP: '203.0.113.40' }), lb('c'), service('default', 'plain'), lb('d')],
      before: new Map([['default/d', '203.0.113.200']]),
    },
    problems,
  );
  t.same(problems, []);
  t.same(Object.fromEntries(got), { 'default/b': '203.0.113.40', 'default/d': '203.0.113.200', 'default/a': '203.0.113.193', 'default/c': '203.0.113.194' });
});

t.test('refused loadBalancerIPs say why and where the pool is', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['outside', '198.51.100.7', /is outside spec.external.cidr 203.0.113.0\/24/],
    ['reserved', '203.0.113.4', /is reserved by the lab \(.1-.10\)/],
    ['broadcast', '203.0.113.255', /is the broadcast address/],
    ['a server', '203.0.113.50', /is already taken by external server 203.0.113.50/],
  ];
  for (const [name, ip, message] of cases) {
    const problems: ConfigProblem[] = [];
    allocateLoadBalancerIPs({ externalCidr: '203.0.113.0/24', taken: ['203.0.113.50'], services: [lb('x', { loadBalancerIP: ip })], before: new Map() }, problems);
    t.equal(problems.length, 1, name);
    t.match(problems[0]!.message, message, name);
    t.match(problems[0]!.message, /the pool is 203.0.113.192-203.0.113.254/, name);
  }
  const problems: ConfigProblem[] = [];
  allocateLoadBalancerIPs({ externalCidr: '203.0.113.0/24', taken: [], services: [lb('x', { loadBalancerIP: '203.0.113.40' }), lb('y', { loadBalancerIP: '203.0.113.40' })], before: new Map() }, problems);
  t.match(problems.map((p) => p.message), [/default\/y: spec.loadBalancerIP 203.0.113.40 is already taken by Service default\/x/]);
});

t.test('an exhausted pool is a capacity problem on the service', async (t) => {
  const problems: ConfigProblem[] = [];
  const got = allocateLoadBalancerIPs({ externalCidr: '198.51.100.0/28', taken: [], services: ['a', 'b', 'c', 'd'].map((n) => lb(n)), before: new Map() }, problems);
  t.equal(got.size, 3);
  t.match(problems, [{ code: 'capacity', message: /default\/d: the load-balancer pool 198.51.100.12-198.51.100.14 has no free address left/ }]);
});

t.test('the plan gives LoadBalancer services their IP, keeps it on replan, and kube-proxy gets it', async (t) => {
  const spec = labSpec({ pods: [pod('default', 'web')], services: [lb('web', { loadBalancerSourceRanges: ['203.0.113.0/24'] })] });
  const plan = planLab(spec);
  const web = plan.services.find((s) => s.key === 'default/web')!;
  t.equal(web.loadBalancerIP, '203.0.113.192');
  t.same(web.loadBalancerSourceRanges, ['203.0.113.0/24']);
  t.ok(web.ports[0]!.nodePort, 'a node port to forward to');
  const again = planLab({ ...spec, services: [lb('first'), ...spec.services] }, plan);
  t.equal(again.services.find((s) => s.key === 'default/web')!.loadBalancerIP, '203.0.113.192', 'kept across apply');
  t.equal(again.services.find((s) => s.key === 'default/first')!.loadBalancerIP, '203.0.113.193');
  t.throws(() => planLab({ ...spec, services: [lb('web', { loadBalancerIP: '10.0.0.1' })] }), ConfigError);
});
