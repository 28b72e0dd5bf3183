import t from 'tap';
import { planLab } from '../../../dist/model/plan.js';
import { allChecks, containerChecks, crossNodeChecks, daemonChecks, sameNodeChecks } from '../../../dist/verify/checks.js';
import { labSpec, pod } from '../../helpers/spec.js';

const twoContainers = pod('shop', 'duo', {
  nodeName: 'node1',
  containers: [
    { name: 'a', ports: [{ containerPort: 7001, protocol: 'TCP' }] },
    { name: 'b', ports: [{ containerPort: 7002, protocol: 'TCP' }] },
    { name: 'quiet', ports: [] },
  ],
});

t.test('P1: every container reaches every other serving container over localhost', async (t) => {
  const plan = planLab(labSpec({ pods: [twoContainers] }));
  t.same(containerChecks(plan).map((c) => c.name), [
    'P1 pod shop/duo: container a -> container b via localhost:7002',
    'P1 pod shop/duo: container b -> container a via localhost:7001',
    'P1 pod shop/duo: container quiet -> container a via localhost:7001',
    'P1 pod shop/duo: container quiet -> container b via localhost:7002',
  ]);
});

t.test('P2 is a ring per node; P3 covers every ordered node pair and expects the sender pod IP', async (t) => {
  const pods = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => pod('default', n));
  const plan = planLab(labSpec({ pods }));
  const p2 = sameNodeChecks(plan);
  // Two of the file's pods per node, plus the cluster DNS pods on node1 and node2: rings of 3, 3 and 2.
  t.equal(p2.length, 8, 'a ring over the pods of each node');
  const p3 = crossNodeChecks(plan);
  t.equal(p3.length, 6, '3 nodes: 6 ordered pairs');
  t.match(p3[0]!.name, /^P3 pod default\/\w \(node1\) -> default\/\w \(node2\) via host-gw route, source IP kept$/);
  for (const check of p3) {
    const http = check.probes.find((p) => p.kind === 'http');
    const ping = check.probes.find((p) => p.kind === 'ping');
    t.ok(http && ping, check.name);
    if (http?.kind === 'http') {
      const src = plan.pods.find((p) => p.netns === http.from.netns)!;
      t.equal(http.expect.clientIP, src.ip, 'no NAT: the receiver must see the sender pod IP');
    }
  }
});

t.test('P13 probes from the external client to a pod on every node, and the root namespace', async (t) => {
  const plan = planLab(labSpec({ pods: ['a', 'b', 'c'].map((n) => pod('default', n)) }));
  const p13 = allChecks(plan).filter((c) => c.path === 'P13');
  t.equal(p13.filter((c) => c.probes[0]!.kind === 'unreachable').length, 3);
  t.equal(p13.filter((c) => c.probes[0]!.kind === 'root-isolated').length, 1);
});

t.test('udp: one check per node that its forwarder serves on the node IP; none for other backends', async (t) => {
  const udp = planLab(labSpec({ podNetwork: { ...labSpec().podNetwork, backend: 'udp' }, pods: [pod('default', 'a')] }));
  const checks = daemonChecks(udp);
  t.same(checks.map((c) => c.name), [
    'NODE node/node1 runs daemon overlay-udp/node1, bound to udp 192.168.56.11:8285 and attached to flannel0',
    'NODE node/node2 runs daemon overlay-udp/node2, bound to udp 192.168.56.12:8285 and attached to flannel0',
    'NODE node/node3 runs daemon overlay-udp/node3, bound to udp 192.168.56.13:8285 and attached to flannel0',
  ]);
  t.same(checks[1]!.probes, [{ kind: 'daemon', lab: udp.lab, name: 'overlay-udp/node2', node: { netns: udp.nodes[1]!.netns, label: 'node/node2' }, listen: { ip: '192.168.56.12', port: 8285 } }]);
  t.ok(allChecks(udp).some((c) => c.name === checks[0]!.name), 'part of verify');
  t.same(daemonChecks(planLab(labSpec({ pods: [pod('default', 'a')] }))), []);
});
