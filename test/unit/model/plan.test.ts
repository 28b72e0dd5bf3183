import t from 'tap';
import { udpDaemons } from '../../../dist/components/udp/daemon.js';
import { planLab } from '../../../dist/model/plan.js';
import { ConfigError } from '../../../dist/util/errors.js';
import { filePods, labSpec, pod } from '../../helpers/spec.js';

t.test('addresses: router .1, nodes from .11, one /24 per node, pods from .2', async (t) => {
  const plan = planLab(labSpec({ pods: [pod('default', 'a'), pod('default', 'b'), pod('default', 'c'), pod('default', 'd')] }));
  t.equal(plan.router.address, '192.168.56.1/24');
  t.same(plan.nodes.map((n) => [n.name, n.ip, n.podCIDR, n.gateway]), [
    ['node1', '192.168.56.11', '10.244.0.0/24', '10.244.0.1'],
    ['node2', '192.168.56.12', '10.244.1.0/24', '10.244.1.1'],
    ['node3', '192.168.56.13', '10.244.2.0/24', '10.244.2.1'],
  ]);
  // least loaded first, ties by node order: a round-robin
  t.same(filePods(plan).map((p) => [p.key, p.node, p.ip]), [
    ['default/a', 'node1', '10.244.0.2'],
    ['default/b', 'node2', '10.244.1.2'],
    ['default/c', 'node3', '10.244.2.2'],
    ['default/d', 'node1', '10.244.0.3'],
  ]);
  t.equal(plan.pods[0]!.netns, 't.pod.default.a');
  t.match(plan.pods[0]!.hostVeth, /^veth[0-9a-f]{8}$/);
  t.equal(plan.internet.address, '203.0.113.1/24');
  t.equal(plan.router.uplink.address, '203.0.113.2/24');
  t.equal(plan.internet.clients[0]!.ip, '203.0.113.10');
});

t.test('the plan is deterministic', async (t) => {
  const spec = labSpec({ pods: [pod('default', 'a'), pod('x', 'b')] });
  t.same(planLab(spec), planLab(spec));
});

t.test('nodeName and nodeSelector place pods', async (t) => {
  const spec = labSpec({
    pods: [pod('default', 'pinned', { nodeName: 'node3' }), pod('default', 'sel', { nodeSelector: { 'kubernetes.io/hostname': 'node2' } })],
  });
  const plan = planLab(spec);
  t.same(filePods(plan).map((p) => p.node), ['node3', 'node2']);
});

t.test('a selector no node satisfies is refused with the pod line', async (t) => {
  const spec = labSpec({ pods: [pod('default', 'lost', { nodeSelector: { zone: 'mars' }, source: { file: 'f.yaml', line: 7 } })] });
  const err = t.throws(() => planLab(spec)) as unknown as ConfigError;
  t.ok(err instanceof ConfigError);
  t.equal(err.problems[0]!.code, 'unknown-node');
  t.equal(err.problems[0]!.source?.line, 7);
});

t.test('a previous plan keeps pods on their node and IP when others come and go', async (t) => {
  const first = planLab(labSpec({ pods: [pod('default', 'a'), pod('default', 'b'), pod('default', 'c'), pod('default', 'd')] }));
  const second = planLab(labSpec({ pods: [pod('default', 'new'), pod('default', 'd'), pod('default', 'b')] }), first);
  const before = new Map(first.pods.map((p) => [p.key, `${p.node} ${p.ip}`]));
  for (const key of ['default/b', 'default/d']) t.equal(second.pods.find((p) => p.key === key) && `${second.pods.find((p) => p.key === key)!.node} ${second.pods.find((p) => p.key === key)!.ip}`, before.get(key), key);
  const fresh = second.pods.find((p) => p.key === 'default/new')!;
  t.not(fresh.ip, before.get('default/b')?.split(' ')[1]);
  t.not(fresh.ip, before.get('default/d')?.split(' ')[1]);
});

t.test('a node full of pods is a capacity error', async (t) => {
  const spec = labSpec({ nodes: [labSpec().nodes[0]!], pods: Array.from({ length: 254 }, (_, i) => pod('default', `p${i}`)) });
  const err = t.throws(() => planLab(spec)) as unknown as ConfigError;
  t.equal(err.problems[0]!.code, 'capacity');
  // 251 of the file's pods and the cluster DNS add-on's two fill the /24 (.2-.254).
  const full = planLab({ ...spec, pods: spec.pods.slice(0, 251) });
  t.equal(full.pods.length, 253);
  t.equal(full.pods.at(-1)!.ip, '10.244.0.254');
  t.equal(t.throws(() => planLab({ ...spec, pods: spec.pods.slice(0, 252) })) && 'refused', 'refused', 'one more pod does not fit');
});

t.test('each backend sets the pod MTU from its encapsulation overhead, and only udp needs node daemons', async (t) => {
  const expected = { 'host-gw': 1500, 'cloud-routes': 1500, vxlan: 1450, udp: 1472 } as const;
  for (const [backend, mtu] of Object.entries(expected)) {
    const plan = planLab(labSpec({ podNetwork: { ...labSpec().podNetwork, backend: backend as keyof typeof expected } }));
    t.same([...new Set([...plan.nodes.map((n) => n.podMtu), ...plan.pods.map((p) => p.mtu)])], [mtu], backend);
    t.same(
      udpDaemons(plan).map((d) => [d.name, d.netns, d.args]),
      backend === 'udp' ? plan.nodes.map((n) => [`overlay-udp/${n.name}`, n.netns, ['--name', `overlay-udp/${n.name}`]]) : [],
      `${backend} daemons`,
    );
  }
});
