/**
 * `check` without root: the expected objects of a plan read back from the
 * rendered batches, a kernel state in `ip -j` / `bridge -j` shape that
 * holds exactly them, and then one broken object at a time, each named
 * with its place, component and what was expected and found.
 */
import t from 'tap';
import { processDifferences } from '../../../dist/check/agent.js';
import { labDaemons, labObjects } from '../../../dist/components/registry.js';
import { compare, differenceLine } from '../../../dist/check/compare.js';
import { placeNames } from '../../../dist/check/expected.js';
import type { KernelState, NetnsState } from '../../../dist/check/kernel.js';
import { objectsOf, type Owned } from '../../../dist/components/objects.js';
import { planLab } from '../../../dist/model/plan.js';
import type { AgentStatus } from '../../../dist/agent/protocol.js';
import { labSpec, pod } from '../../helpers/spec.js';

function planFor(backend: 'vxlan' | 'host-gw' | 'udp' | 'cloud-routes') {
  const s = labSpec({ pods: [pod('default', 'a', { nodeName: 'node1' }), pod('default', 'b', { nodeName: 'node2' })] });
  return planLab({ ...s, podNetwork: { ...s.podNetwork, backend } });
}

/** The state a healthy kernel reports for these objects, in the shape `ip -j -d` and `bridge -j` print. */
function healthyKernel(expected: readonly Owned[]): KernelState {
  const state: KernelState = {};
  const ns = (name: string): NetnsState => (state[name] ??= { exists: true, links: [], addrs: [], routes: [], neighbours: [], fdb: [], sysctls: {} });
  for (const { object: o } of expected) {
    const s = ns(o.netns);
    switch (o.kind) {
      case 'link':
        s.links.push({
          ifname: o.name,
          flags: o.up ? ['BROADCAST', 'UP', 'LOWER_UP'] : ['BROADCAST'],
          ...(o.mtu ? { mtu: o.mtu } : {}),
          ...(o.master ? { master: o.master } : {}),
          ...(o.address ? { address: o.address } : {}),
          ...({ promiscuity: o.promisc ? 1 : 0 } as object),
          linkinfo: {
            ...(o.type !== 'unknown' ? { info_kind: o.type } : {}),
            ...(o.vxlan ? { info_data: { id: o.vxlan.id, local: o.vxlan.local, port: o.vxlan.port } } : {}),
            ...(o.hairpin !== undefined ? { info_slave_kind: 'bridge', info_slave_data: { hairpin: o.hairpin } } : {}),
          },
        });
        break;
      case 'address': {
        const [local, prefix] = o.address.split('/');
        s.addrs.push({ ifname: o.dev, addr_info: [{ family: 'inet', local: local!, prefixlen: Number(prefix), ...(o.noprefixroute ? { noprefixroute: true } : {}) }] });
        break;
      }
      case 'route':
        s.routes.push({ dst: o.dst.endsWith('/32') ? o.dst.slice(0, -3) : o.dst, ...(o.via ? { gateway: o.via } : {}), ...(o.dev ? { dev: o.dev } : { dev: 'eth0' }), protocol: 'boot', flags: o.onlink ? ['onlink'] : [] });
        break;
      case 'neighbour':
        s.neighbours.push({ dst: o.ip, dev: o.dev, lladdr: o.mac, state: ['PERMANENT'] });
        break;
      case 'fdb':
        s.fdb.push({ mac: o.mac, ifname: o.dev, dst: o.dst, flags: ['self'], state: 'permanent' });
        break;
      case 'sysctl':
        s.sysctls[o.key] = o.value;
        break;
    }
  }
  return state;
}

t.test('the rendered vocabulary reads back as objects', async (t) => {
  const objects = objectsOf('x', [
    { netns: 'n1', lines: ['link add veth1 mtu 1450 type veth peer name eth0 address 0a:58:0a:f4:00:02 mtu 1450 netns p1', 'link set veth1 master cbr0 up', 'link set veth1 type bridge_slave hairpin on'] },
    { netns: 'n1', lines: ['link add flannel.1 address 02:aa:bb:cc:dd:ee type vxlan id 1 local 192.168.56.11 dev eth0 dstport 8472 nolearning', 'link set flannel.1 mtu 1450', 'link set flannel.1 up'] },
    { netns: 'n1', lines: ['route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink', 'neigh add 10.244.1.0 lladdr 02:11:22:33:44:55 dev flannel.1 nud permanent', 'fdb add 02:11:22:33:44:55 dev flannel.1 dst 192.168.56.12 self permanent'] },
    { netns: 'n1', lines: ['tuntap add dev flannel0 mode tun', 'link set flannel0 mtu 1472 up', 'addr add 10.244.0.0/16 dev flannel0', 'route add 203.0.113.0/24 via 192.168.56.1', 'route add default via 192.168.56.1'] },
  ]).map((o) => o.object);
  t.match(objects, [
    { kind: 'link', netns: 'n1', name: 'veth1', type: 'veth', mtu: 1450, master: 'cbr0', up: true, hairpin: true },
    { kind: 'link', netns: 'p1', name: 'eth0', type: 'veth', mtu: 1450, address: '0a:58:0a:f4:00:02' },
    { kind: 'link', name: 'flannel.1', type: 'vxlan', address: '02:aa:bb:cc:dd:ee', vxlan: { id: 1, local: '192.168.56.11', dev: 'eth0', port: 8472 }, mtu: 1450, up: true },
    { kind: 'route', dst: '10.244.1.0/24', via: '10.244.1.0', dev: 'flannel.1', onlink: true },
    { kind: 'neighbour', ip: '10.244.1.0', mac: '02:11:22:33:44:55', dev: 'flannel.1' },
    { kind: 'fdb', mac: '02:11:22:33:44:55', dev: 'flannel.1', dst: '192.168.56.12' },
    { kind: 'link', name: 'flannel0', type: 'tun', mtu: 1472, up: true },
    { kind: 'address', address: '10.244.0.0/16', dev: 'flannel0' },
    { kind: 'route', dst: '203.0.113.0/24', via: '192.168.56.1' },
    { kind: 'route', dst: 'default', via: '192.168.56.1' },
  ]);
  t.throws(() => objectsOf('x', [{ netns: 'n', lines: ['xfrm state add'] }]), /check cannot read the rendered line 'xfrm state add'/);
});

for (const backend of ['vxlan', 'host-gw', 'udp', 'cloud-routes'] as const) {
  t.test(`${backend}: a healthy kernel has no difference; every namespace's objects are expected`, async (t) => {
    const plan = planFor(backend);
    const expected = labObjects(plan);
    t.same(compare(expected, healthyKernel(expected), placeNames(plan)), []);
    const places = new Set(expected.map((o) => placeNames(plan).get(o.object.netns)));
    for (const p of ['router', 'internet', 'lb', 'node1', 'node2', 'node3', 'pod default/a', 'pod default/b']) t.ok(places.has(p), `objects in ${p}`);
  });
}

t.test('each broken object is named: place, component, object, found and expected', async (t) => {
  const plan = planFor('vxlan');
  const expected = labObjects(plan);
  const places = placeNames(plan);
  const node = (n: string) => plan.nodes.find((x) => x.name === n)!;
  const a = plan.pods.find((p) => p.name === 'a')!;
  const lines = (break_: (k: KernelState) => void) => {
    const k = healthyKernel(expected);
    break_(k);
    return compare(expected, k, places).map(differenceLine);
  };
  const n1 = node('node1').netns;
  const n2 = node('node2').netns;
  const n3cidr = node('node3').podCIDR;

  t.same(lines((k) => (k[n1]!.routes = k[n1]!.routes.filter((r) => r.dst !== n3cidr))), [`node1  vxlan  route ${n3cidr}: missing (expected via ${n3cidr.split('/')[0]} dev flannel.1 onlink)`]);
  const fdb = expected.find((o) => o.object.kind === 'fdb' && o.object.netns === n2)!.object as { mac: string; dst: string };
  t.same(lines((k) => (k[n2]!.fdb.find((f) => f.mac === fdb.mac)!.dst = '192.168.56.99')), [`node2  vxlan  fdb entry ${fdb.mac} on flannel.1: dst 192.168.56.99 (expected ${fdb.mac} dst ${fdb.dst} self permanent)`]);
  t.same(lines((k) => (k[n2]!.fdb = [])).length, 2, 'both peers of node2 lose their fdb entry');
  t.same(
    lines((k) => k[n2]!.fdb.push({ mac: fdb.mac, ifname: 'flannel.1', dst: '192.168.56.99', flags: ['self'], state: 'permanent' })),
    [`node2  vxlan  fdb entry ${fdb.mac} on flannel.1: also dst 192.168.56.99 (expected only ${fdb.mac} dst ${fdb.dst} self permanent)`],
    'a stale second remote next to the right one is drift: every frame goes to both nodes',
  );
  const neigh = expected.find((o) => o.object.kind === 'neighbour' && o.object.netns === n1)!.object as { ip: string; mac: string };
  t.same(lines((k) => (k[n1]!.neighbours.find((x) => x.dst === neigh.ip)!.lladdr = '02:00:00:00:00:01')), [`node1  vxlan  neighbour ${neigh.ip} on flannel.1: lladdr 02:00:00:00:00:01 (expected ${neigh.mac})`]);
  t.same(lines((k) => (k[n1]!.sysctls['net.ipv4.ip_forward'] = '0')), ['node1  sysctl  sysctl net.ipv4.ip_forward: 0 (expected 1)']);
  t.same(lines((k) => (k[n1]!.links.find((l) => l.ifname === 'flannel.1')!.mtu = 1500)), ['node1  vxlan  link flannel.1: mtu 1500 (expected 1450)']);
  t.same(lines((k) => delete k[n1]!.links.find((l) => l.ifname === a.hostVeth)!.master), [`node1  node  link ${a.hostVeth}: not attached to cbr0`]);
  t.same(lines((k) => (k[a.netns]!.links.find((l) => l.ifname === 'eth0')!.flags = ['BROADCAST'])), ['pod default/a  node  link eth0: down (expected up)'], 'the pod side of the veth is made in the node batch');
  t.same(lines((k) => (k[n1]!.links.find((l) => l.ifname === a.hostVeth)!.linkinfo!.info_slave_data = { hairpin: false })), [`node1  node  link ${a.hostVeth}: hairpin off (expected on)`]);
  t.same(lines((k) => k[n1]!.routes.push({ dst: '10.96.0.0/12', gateway: '192.168.56.12', dev: 'eth0', protocol: 'boot' })), ['node1  routes  route 10.96.0.0/12: not in the plan (via 192.168.56.12 dev eth0)']);
  t.same(lines((k) => k[n1]!.routes.push({ dst: '10.244.0.0/24', dev: 'cbr0', protocol: 'kernel' })), [], "the kernel's own routes for addresses are not differences");
  t.same(lines((k) => (k[a.netns] = { exists: false, links: [], addrs: [], routes: [], neighbours: [], fdb: [], sysctls: {} })), [`pod default/a  node  namespace ${a.netns}: missing`], 'a missing namespace is one line');
  t.same(lines((k) => (k[a.netns]!.addrs = [])), [`pod default/a  pod  address ${a.address} on eth0: missing`]);
  t.same(lines((k) => (k[a.netns]!.addrs[0]!.addr_info![0]!.noprefixroute = true)), [`pod default/a  pod  address ${a.address} on eth0: noprefixroute (expected with its on-link route)`]);
});

t.test('a pinned lab: a pod address without its on-link route, held to it', async (t) => {
  const plan = planLab(labSpec({ pods: Array.from({ length: 340 }, (_, i) => pod('default', `p${i}`)) }));
  const expected = labObjects(plan);
  const k = healthyKernel(expected);
  t.same(compare(expected, k, placeNames(plan)), []);
  const p = plan.pods.find((x) => x.key === 'default/p0')!;
  delete k[p.netns]!.addrs[0]!.addr_info![0]!.noprefixroute;
  t.same(compare(expected, k, placeNames(plan)).map(differenceLine), [`pod default/p0  pod  address ${p.address} on eth0: with its on-link route (expected noprefixroute)`]);
});

t.test('processes: the agent, the daemons the plan asks for, the containers', async (t) => {
  const plan = planFor('udp');
  const places = placeNames(plan);
  t.same(processDifferences(plan, labDaemons(plan), undefined, places, 'the agent of /run/x is not running').map(differenceLine), [
    'lab  agent  agent: not running (the agent of /run/x is not running); no container, kube-proxy, policy or daemon is served',
  ]);
  const status = {
    containers: [{ pod: 'default/a', container: 'c', state: 'waiting', restartCount: 1, lastError: 'port 8080 in use' }],
    daemons: labDaemons(plan).map((d) => ({ name: d.name, netns: d.netns, state: d.name === 'overlay-udp/node2' ? 'stopped' : 'running', ready: true, restartCount: 0, log: `/run/x/${d.name.replace('/', '-')}.log` })),
  } as unknown as AgentStatus;
  t.same(processDifferences(plan, labDaemons(plan), status, places).map(differenceLine), [
    'node2  agent  daemon overlay-udp/node2: not running (stopped); see /run/x/overlay-udp-node2.log',
    'pod default/a  agent  container c: waiting (port 8080 in use)',
  ]);
});
