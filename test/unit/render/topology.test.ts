import t from 'tap';
import { planLab } from '../../../dist/model/plan.js';
import { renderFiles } from '../../../dist/render/files.js';
import { labNamespaces, podMac, renderSysctls, repinPodLines } from '../../../dist/components/topology/render.js';
import { upStages } from '../../../dist/components/registry.js';
import { labSpec, pod } from '../../helpers/spec.js';

const text = (stage: { netns: string; lines: string[] }[]) => stage.map((b) => `# ${b.netns}\n${b.lines.join('\n')}`).join('\n');

t.test('host-gw: every node routes the other pod /24s via their node IP', async (t) => {
  const plan = planLab(labSpec({ pods: [pod('default', 'a'), pod('default', 'b')] }));
  const [internet, routerStage, nodes, pods] = upStages(plan);
  t.equal(
    text(internet!),
    `# t.internet
link set lo up
link add br0 type bridge
addr add 203.0.113.1/24 dev br0
addr add 203.0.113.3/24 dev br0
link set br0 up
link add to-external type veth peer name eth0 netns t.ext.external
link set to-external master br0 up
link add to-lb type veth peer name eth0 netns t.lb
link set to-lb master br0 up
link add to-router type veth peer name uplink netns t.router
link set to-router master br0 up
route add 192.168.56.0/24 via 203.0.113.4`,
  );
  t.equal(
    text(routerStage!),
    `# t.router
link set lo up
addr add 203.0.113.2/32 dev uplink
link set uplink up
route add 203.0.113.4/32 dev uplink
route add default via 203.0.113.4
link add br0 type bridge
link set br0 mtu 1500
addr add 192.168.56.1/24 dev br0
link set br0 up
link add to-node1 mtu 1500 type veth peer name eth0 mtu 1500 netns t.node.node1
link set to-node1 master br0 up
link add to-node2 mtu 1500 type veth peer name eth0 mtu 1500 netns t.node.node2
link set to-node2 master br0 up
link add to-node3 mtu 1500 type veth peer name eth0 mtu 1500 netns t.node.node3
link set to-node3 master br0 up
# t.ext.external
link set lo up
addr add 203.0.113.10/24 dev eth0
link set eth0 up
route add default via 203.0.113.1
# t.lb
link set lo up
addr add 203.0.113.4/24 dev eth0
link set eth0 up
route add 192.168.56.0/24 via 203.0.113.2
route add default via 203.0.113.1`,
  );
  const a = plan.pods[0]!;
  // The cluster DNS add-on's first pod comes after the file's pods, round-robin: on node1 here.
  const dns = plan.pods.find((p) => p.namespace === 'kube-system' && p.node === 'node1')!;
  t.equal(
    text(nodes!.slice(0, 1)),
    `# t.node.node1
link set lo up
addr add 192.168.56.11/24 dev eth0
link set eth0 up
route add default via 192.168.56.1
link add cbr0 address ${plan.nodes[0]!.bridgeMac} type bridge
link set cbr0 mtu 1500
addr add 10.244.0.1/24 dev cbr0
link set cbr0 promisc on up
link add ${a.hostVeth} mtu 1500 type veth peer name eth0 address ${podMac(a.ip)} mtu 1500 netns t.pod.default.a
link set ${a.hostVeth} master cbr0 up
link set ${a.hostVeth} type bridge_slave hairpin on
link add ${dns.hostVeth} mtu 1500 type veth peer name eth0 address ${podMac(dns.ip)} mtu 1500 netns t.pod.kube-system.${dns.name}
link set ${dns.hostVeth} master cbr0 up
link set ${dns.hostVeth} type bridge_slave hairpin on
route add 10.244.1.0/24 via 192.168.56.12 dev eth0
route add 10.244.2.0/24 via 192.168.56.13 dev eth0`,
  );
  t.equal(
    text(pods!.slice(0, 1)),
    `# t.pod.default.a
link set lo up
addr add 10.244.0.2/24 dev eth0
link set eth0 up
route add default via 10.244.0.1`,
  );
});

t.test('cloud-routes: nodes keep only their default route; the router maps each /24 to its node', async (t) => {
  const plan = planLab(labSpec({ podNetwork: { ...labSpec().podNetwork, backend: 'cloud-routes' } }));
  const [, routerStage, nodes] = upStages(plan);
  const router = routerStage!.find((b) => b.netns === 't.router')!;
  t.same(router.lines.filter((l) => l.startsWith('route add 10.244')), [
    'route add 10.244.0.0/24 via 192.168.56.11 dev br0',
    'route add 10.244.1.0/24 via 192.168.56.12 dev br0',
    'route add 10.244.2.0/24 via 192.168.56.13 dev br0',
  ]);
  for (const n of nodes!) t.same(n.lines.filter((l) => l.startsWith('route')), ['route add default via 192.168.56.1'], n.netns);
});

t.test('namespaces all carry the lab prefix; sysctls never target the root namespace', async (t) => {
  const plan = planLab(labSpec({ pods: [pod('default', 'a')] }));
  for (const ns of labNamespaces(plan)) t.ok(ns.startsWith('t.'), ns);
  for (const s of renderSysctls(plan)) t.ok(s.netns.startsWith('t.'), `${s.netns} ${s.key}`);
  t.ok(renderSysctls(plan).some((s) => s.netns === 't.router' && s.key === 'net.ipv4.conf.all.send_redirects' && s.value === '0'));
});

t.test('pod files: hosts names the pod, resolv.conf points at the cluster DNS IP', async (t) => {
  const plan = planLab(labSpec({ pods: [pod('shop', 'api')] }));
  const files = new Map(renderFiles(plan).map((f) => [f.path, f.content]));
  t.match(files.get('/etc/netns/t.pod.shop.api/hosts'), /^10\.244\.0\.2\tapi$/m);
  t.equal(files.get('/etc/netns/t.pod.shop.api/resolv.conf'), 'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
});

t.test('external servers: own namespace on the internet bridge, gateway the internet router, the resolver in resolv.conf', async (t) => {
  const spec = labSpec({ pods: [pod('default', 'a')] });
  spec.external.servers = [{ name: 'legacy.example.net', address: '203.0.113.50', ports: [80, 8080] }];
  const plan = planLab(spec);
  t.same(plan.internet.servers, [{ name: 'legacy.example.net', netns: 't.srv.0', ip: '203.0.113.50', ports: [80, 8080], peer: 'to-srv0' }]);
  t.ok(labNamespaces(plan).includes('t.srv.0'));
  const [internet, routerStage] = upStages(plan);
  t.ok(internet![0]!.lines.includes('link add to-srv0 type veth peer name eth0 netns t.srv.0'));
  t.same(routerStage!.find((b) => b.netns === 't.srv.0')!.lines, [
    'link set lo up',
    'addr add 203.0.113.50/24 dev eth0',
    'link set eth0 up',
    'route add default via 203.0.113.1',
  ]);
  const files = new Map(renderFiles(plan).map((f) => [f.path, f.content]));
  t.equal(files.get('/etc/netns/t.srv.0/resolv.conf'), 'nameserver 203.0.113.3\n');
});

t.test('the internet router and the load balancer edge send no redirects (they forward within one bridge)', async (t) => {
  const plan = planLab(labSpec({ pods: [pod('default', 'a')] }));
  const sys = renderSysctls(plan).map((s) => `${s.netns} ${s.key}=${s.value}`);
  for (const line of ['t.lb net.ipv4.ip_forward=1', 't.lb net.ipv4.conf.all.send_redirects=0', 't.lb net.ipv4.conf.eth0.send_redirects=0', 't.internet net.ipv4.conf.br0.send_redirects=0']) {
    t.ok(sys.includes(line), line);
  }
});

t.test('a lab too big for ARP alone pins each pod\'s gateway and each pod on its bridge; a small one leaves them to ARP', async (t) => {
  const small = planLab(labSpec({ pods: [pod('default', 'a')] }));
  t.equal(small.staticNeighbours, false);
  t.notMatch(JSON.stringify(upStages(small)), /neigh /, 'the default size: ARP, as in a cluster');
  // 3 x 342 pods (the DNS add-on's two included) + 3 nodes x 5 > 1024: past the kernel's default table.
  const big = planLab(labSpec({ pods: Array.from({ length: 340 }, (_, i) => pod('default', `p${i}`)) }));
  t.equal(big.staticNeighbours, true);
  t.equal(planLab(labSpec({ pods: Array.from({ length: 300 }, (_, i) => pod('default', `p${i}`)) })).staticNeighbours, false, '300 pods still fit');
  const stages = upStages(big);
  const p = big.pods.find((x) => x.key === 'default/p0')!;
  const node = big.nodes.find((n) => n.name === p.node)!;
  const nodeLines = stages.flat().find((b) => b.netns === node.netns)!.lines;
  t.ok(nodeLines.includes(`link add cbr0 address ${node.bridgeMac} type bridge`), 'cbr0 has the MAC the pods pin');
  t.ok(nodeLines.includes(`neigh replace ${p.ip} lladdr ${podMac(p.ip)} dev cbr0 nud permanent`), 'the pod on its node\'s bridge');
  t.ok(nodeLines.indexOf(`neigh replace ${p.ip} lladdr ${podMac(p.ip)} dev cbr0 nud permanent`) > nodeLines.indexOf('link set cbr0 promisc on up'), 'after the bridge exists');
  const podLines = stages.flat().find((b) => b.netns === p.netns)!.lines;
  t.same(
    podLines,
    ['link set lo up', `addr add ${p.address} dev eth0 noprefixroute`, 'link set eth0 up', `neigh replace ${p.gateway} lladdr ${node.bridgeMac} dev eth0 nud permanent`, `route add ${p.gateway} dev eth0 scope link`, `route add default via ${p.gateway}`],
    'nothing on-link but the gateway: a pod on the same node is reached through it, with no ARP',
  );
  const sysctls = renderSysctls(big).filter((s) => s.netns === node.netns && s.key.endsWith('send_redirects'));
  t.same(sysctls.map((s) => `${s.key}=${s.value}`), ['net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.cbr0.send_redirects=0'], 'the node does not redirect its pods to each other');
  t.same(renderSysctls(small).filter((s) => s.key.endsWith('send_redirects') && small.nodes.some((n) => n.netns === s.netns)), [], 'a small lab\'s nodes keep the default');
  // Moved across the line on a running lab: the address made again, with what follows it.
  t.same(repinPodLines(big, p), [`addr del ${p.address} dev eth0`, ...podLines]);
  const smallPod = small.pods.find((x) => x.key === 'default/a')!;
  t.same(repinPodLines(small, smallPod), [
    `addr del ${smallPod.address} dev eth0`,
    `neigh flush to ${smallPod.gateway} dev eth0 nud permanent`,
    'link set lo up',
    `addr add ${smallPod.address} dev eth0`,
    'link set eth0 up',
    `route add default via ${smallPod.gateway}`,
  ]);
  const pinned = big.pods.filter((x) => !x.hostNetwork).length;
  t.equal(stages.flat().flatMap((b) => b.lines).filter((l) => l.startsWith('neigh replace')).length, 2 * pinned, 'two entries per pod, none for hostNetwork pods');
});

t.test('a pod MAC follows from its IP, so a reused IP keeps its neighbour entries right', async (t) => {
  t.equal(podMac('10.244.1.5'), '0a:58:0a:f4:01:05');
  t.equal(podMac('10.244.255.254'), '0a:58:0a:f4:ff:fe');
});
