import t from 'tap';
import { planLab } from '../../../dist/model/plan.js';
import { upStages } from '../../../dist/components/registry.js';
import { labSpec, pod } from '../../helpers/spec.js';

t.test('udp: flannel0 TUN per node with the node /24 network address, MTU node - 28, one route for the pod CIDR', async (t) => {
  const plan = planLab(labSpec({ podNetwork: { ...labSpec().podNetwork, backend: 'udp' }, pods: [pod('default', 'a')] }));
  const stages = upStages(plan);
  const nodes = stages[2]!;
  const tail = (n: number) => nodes.find((b) => b.netns === `t.node.node${n}`)!.lines.slice(-4);
  t.same([1, 2, 3].map(tail), [0, 1, 2].map((i) => [
    'tuntap add dev flannel0 mode tun',
    `addr add 10.244.${i}.0/32 dev flannel0`,
    'link set flannel0 mtu 1472 up',
    'route add 10.244.0.0/16 dev flannel0',
  ]));
  t.same(nodes.find((b) => b.netns === 't.node.node1')!.lines.filter((l) => l.startsWith('link set cbr0 mtu')), ['link set cbr0 mtu 1472'], 'cbr0 follows the overlay MTU');
  t.notOk(stages.flat().some((b) => b.lines.some((l) => /neigh|fdb|via/.test(l) && l.includes('flannel'))), 'no per-peer kernel state: the daemon routes');
  t.notOk(stages.flat().filter((b) => b.netns === plan.router.netns).some((b) => b.lines.some((l) => l.includes('10.244.'))), 'the router knows no pod /24');
  t.equal(plan.pods[0]!.mtu, 1472, 'pod eth0 follows the overlay MTU');
});
