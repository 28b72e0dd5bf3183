/** What `trace SRC DST` names, resolved against the default lab's plan, without root. */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../../../dist/config/index.js';
import { planLab } from '../../../dist/model/plan.js';
import { pathNamespaces, resolveDestination, resolveSource } from '../../../dist/trace/targets.js';

const plan = planLab(loadLab([fileURLToPath(new URL('../../../lab/default.yaml', import.meta.url))]));
const web = plan.pods.filter((p) => p.labels.app === 'web' && p.namespace === 'default');

t.test('sources: pods, nodes, the external client, with their addresses', async (t) => {
  t.match(resolveSource(plan, `default/${web[0]!.name}`), { kind: 'pod', ip: web[0]!.ip, netns: web[0]!.netns });
  t.match(resolveSource(plan, 'node/node2'), { kind: 'node', ip: '192.168.56.12' });
  t.match(resolveSource(plan, 'external'), { kind: 'external', ip: '203.0.113.10' });
  t.throws(() => resolveSource(plan, 'nope'), /no pod, node or external host 'nope'/);
});

t.test('destinations: service by name and by ClusterIP, pod, NodePort, LB IP, Ingress URL, external server, DNS name', async (t) => {
  const svc = plan.services.find((s) => s.key === 'default/web')!;
  const byName = resolveDestination(plan, 'svc/default/web');
  t.match(byName, { kind: 'service', ip: svc.clusterIP, port: 80, protocol: 'tcp' });
  t.same(byName.candidates.map((p) => p.key).sort(), web.map((p) => p.key).sort(), 'its endpoints may answer');
  t.same(resolveDestination(plan, svc.clusterIP!).label, byName.label);
  t.match(resolveDestination(plan, web[1]!.name), { kind: 'pod', ip: web[1]!.ip, port: 8080 });
  const nodePort = plan.services.flatMap((s) => s.ports.map((p) => ({ s, p }))).find(({ p }) => p.nodePort !== undefined)!;
  t.match(resolveDestination(plan, 'node/node3', { port: nodePort.p.nodePort! }), { kind: 'node-port', ip: '192.168.56.13', port: nodePort.p.nodePort, label: new RegExp(`NodePort of ${nodePort.s.key}`) });
  t.throws(() => resolveDestination(plan, 'node/node3'), /needs --port/);
  const lb = plan.services.find((s) => s.key === 'shop/storefront')!;
  t.match(resolveDestination(plan, lb.loadBalancerIP!), { kind: 'load-balancer', ip: lb.loadBalancerIP, port: lb.ports[0]!.port });
  const ing = resolveDestination(plan, 'https://shop.example.com/api');
  const controller = plan.services.find((s) => s.key === 'ingress-nginx/ingress-nginx-controller')!;
  t.match(ing, { kind: 'ingress', ip: controller.loadBalancerIP, port: 443, http: { host: 'shop.example.com', url: 'https://shop.example.com/api' } });
  t.same(ing.secondLeg!.from.sort(), plan.pods.filter((p) => p.namespace === 'ingress-nginx').map((p) => p.ip).sort(), "nginx's own connections come from the controller pods");
  t.match(resolveDestination(plan, 'legacy.example.net'), { kind: 'external-server', ip: '203.0.113.50', port: 80 });
  t.match(resolveDestination(plan, 'web.default.svc.cluster.local'), { kind: 'dns', dnsName: 'web.default.svc.cluster.local' });
  t.match(resolveDestination(plan, 'svc/kube-system/kube-dns', { udp: true }), { protocol: 'udp', port: 53 });
  t.match(resolveDestination(plan, 'svc/kube-system/kube-dns', { udp: true, port: 53 }), { protocol: 'udp', port: 53 }, '--port and --udp: the UDP port of that number');
  t.match(resolveDestination(plan, 'svc/kube-system/kube-dns', { port: 53 }), { protocol: 'tcp', port: 53 }, 'TCP unless --udp');
  t.match(resolveDestination(plan, 'svc/shop/resolver'), { protocol: 'udp', port: 53 }, 'a service with only UDP ports is probed over UDP');
  t.throws(() => resolveDestination(plan, 'svc/default/legacy'), /has no ClusterIP \(ExternalName legacy.example.net\)/);
  t.throws(() => resolveDestination(plan, 'svc/default/nope'), /no service default\/nope/);
});

t.test('the namespaces a probe can cross: source, nodes, edge, candidates; no other pod', async (t) => {
  const src = resolveSource(plan, `default/${web[0]!.name}`);
  const dst = resolveDestination(plan, 'svc/default/web');
  const ns = pathNamespaces(plan, src, dst);
  for (const n of plan.nodes) t.ok(ns.includes(n.netns), n.name);
  for (const p of web) t.ok(ns.includes(p.netns), p.key);
  t.notOk(ns.some((n) => plan.pods.some((p) => !p.hostNetwork && p.netns === n && !web.includes(p))), 'no pod that cannot answer');
});
