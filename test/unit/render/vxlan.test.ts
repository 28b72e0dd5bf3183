import t from 'tap';
import { planLab } from '../../../dist/model/plan.js';
import { upStages } from '../../../dist/components/registry.js';
import { labSpec, pod } from '../../helpers/spec.js';

t.test('vxlan: flannel.1 per node, then neighbour, fdb and onlink route per peer, in that order', async (t) => {
  const spec = labSpec({ podNetwork: { ...labSpec().podNetwork, backend: 'vxlan' }, pods: [pod('default', 'a')] });
  const plan = planLab(spec);
  const [m1, m2, m3] = plan.nodes.map((n) => n.vtepMac);
  const stages = upStages(plan);
  t.equal(stages.length, 6, 'internet, router, nodes, fdb, routes, pods');
  const [, , nodes, fdb, routes] = stages;
  const node1 = nodes!.find((b) => b.netns === 't.node.node1')!;
  t.same(node1.lines.slice(-6), [
    `link add flannel.1 address ${m1} type vxlan id 1 local 192.168.56.11 dev eth0 dstport 8472 nolearning`,
    'link set flannel.1 mtu 1450',
    'addr add 10.244.0.0/32 dev flannel.1',
    'link set flannel.1 up',
    `neigh add 10.244.1.0 lladdr ${m2} dev flannel.1 nud permanent`,
    `neigh add 10.244.2.0 lladdr ${m3} dev flannel.1 nud permanent`,
  ]);
  t.same(node1.lines.filter((l) => l.startsWith('link set cbr0 mtu')), ['link set cbr0 mtu 1450'], 'cbr0 follows the overlay MTU');
  t.same(fdb!.map((b) => [b.netns, b.tool, b.lines]), [
    ['t.node.node1', 'bridge', [`fdb add ${m2} dev flannel.1 dst 192.168.56.12 self permanent`, `fdb add ${m3} dev flannel.1 dst 192.168.56.13 self permanent`]],
    ['t.node.node2', 'bridge', [`fdb add ${m1} dev flannel.1 dst 192.168.56.11 self permanent`, `fdb add ${m3} dev flannel.1 dst 192.168.56.13 self permanent`]],
    ['t.node.node3', 'bridge', [`fdb add ${m1} dev flannel.1 dst 192.168.56.11 self permanent`, `fdb add ${m2} dev flannel.1 dst 192.168.56.12 self permanent`]],
  ]);
  t.same(routes!.map((b) => [b.netns, b.lines]), [
    ['t.node.node1', ['route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink', 'route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink']],
    ['t.node.node2', ['route add 10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink', 'route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink']],
    ['t.node.node3', ['route add 10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink', 'route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink']],
  ]);
  t.equal(plan.pods[0]!.mtu, 1450, 'pod eth0 follows the overlay MTU');
  t.match(m1, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  t.equal(parseInt(m1!.slice(0, 2), 16) & 3, 2, 'locally administered unicast');
});

t.test('vxlan port and VNI come from the lab file', async (t) => {
  const spec = labSpec({ podNetwork: { ...labSpec().podNetwork, backend: 'vxlan', vxlan: { port: 4789, vni: 42 } } });
  const nodes = upStages(planLab(spec))[2]!;
  t.match(nodes[0]!.lines.join('\n'), /link add flannel\.42 address \S+ type vxlan id 42 local 192\.168\.56\.11 dev eth0 dstport 4789 nolearning/);
});

t.test('the pod end of each veth gets the overlay MTU too, not the 1500 default', async (t) => {
  const plan = planLab(labSpec({ podNetwork: { ...labSpec().podNetwork, backend: 'vxlan' }, pods: [pod('default', 'a')] }));
  const node1 = upStages(plan)[2]!.find((b) => b.netns === 't.node.node1')!;
  t.match(node1.lines.join('\n'), /link add veth[0-9a-f]{8} mtu 1450 type veth peer name eth0 address 0a:58(:[0-9a-f]{2}){4} mtu 1450 netns t\.pod\.default\.a/);
});
