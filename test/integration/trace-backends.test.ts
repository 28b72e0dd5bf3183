/**
 * `trace` in kube-proxy's nftables mode on the udp backend (the default lab
 * with a NodePort of externalTrafficPolicy Cluster added): every seed path
 * P2-P13 with the nft maps, the DNAT and masquerade, the load balancer, the
 * ingress's two connections and an nftables policy drop; and on host-gw and
 * cloud-routes, each backend's way from one node to the other and between
 * two pods of a node. After every trace nothing is left; the root namespace
 * is unchanged.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../../dist/model/types.js';
import { cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';
import { rootSnapshot } from '../helpers/host.js';
import { CLUSTER_NODEPORT, traceLeftovers, type JsonHop, type JsonTrace } from '../helpers/trace.js';

const DEFAULT_LAB = fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));

function traceOf(name: string, ...args: string[]): JsonTrace {
  const r = cli(['trace', '--name', name, '-o', 'json', ...args]);
  if (!r.stdout.startsWith('{')) throw new Error(`trace ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as JsonTrace;
}
const forward = (r: JsonTrace) => r.probes.at(-1)!.hops.filter((h) => h.direction === 'forward' && h.leg === 1);
const planOf = (name: string) => JSON.parse(readFileSync(`/run/kube-netlab/${name}/plan.json`, 'utf8')) as Plan;

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  t.test('nftables mode on udp', async (t) => {
    const name = labName('trn');
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--name', name]);
    });
    const before = rootSnapshot();
    const yaml = readFileSync(DEFAULT_LAB, 'utf8').replace(/^ {2}name: demo$/m, `  name: ${name}`).replace('backend: vxlan', 'backend: udp').replace('proxyMode: iptables', 'proxyMode: nftables');
    const up = cli(['up', '-f', writeLab(dir, name, yaml + CLUSTER_NODEPORT)]);
    t.equal(up.code, 0, up.stderr);
    const plan = planOf(name);
    const toolbox = plan.pods.find((p) => p.key === 'default/toolbox')!;
    // Every trace leaves nothing behind: no trace table, no monitor.
    const trace = (...args: string[]) => {
      const r = traceOf(name, ...args);
      t.same(traceLeftovers(plan), [], `nothing left after trace ${args.join(' ')}`);
      return r;
    };
    const rules = (h: JsonHop) => h.rules.map((x) => x.rule).join('\n');

    await t.test('P2 pod to pod on the same node: through cbr0, bridged', async (t) => {
      const dst = plan.pods.find((p) => p.labels.app === 'web' && p.node === toolbox.node)!;
      const r = trace('default/toolbox', dst.key);
      t.same(forward(r).map((h) => h.place), ['pod default/toolbox', toolbox.node, `pod ${dst.key}`]);
      t.match(forward(r)[1], { in: 'cbr0', out: 'cbr0' });
      t.match(r.verdict, { outcome: 'delivered', place: `pod ${dst.key}` });
    });

    await t.test('P3 on udp: flannel0 and the daemon\'s datagram to the peer node', async (t) => {
      const dst = plan.pods.find((p) => p.labels.app === 'web' && p.node === 'node1')!;
      const r = trace('default/toolbox', dst.key);
      const hops = forward(r);
      t.same(hops.map((h) => h.place), ['pod default/toolbox', toolbox.node, 'node1', `pod ${dst.key}`]);
      t.match(hops[1], { in: 'cbr0', out: 'flannel0' });
      t.match(hops[1]!.objects.find((o) => o.what === 'udp')?.text, /UDP datagram to node1 192\.168\.56\.11:8285/);
      t.match(hops[2], { in: 'flannel0', out: 'cbr0' });
      t.equal(r.verdict.outcome, 'delivered');
    });

    await t.test('P5 in nftables mode: the service map and the endpoint chain\'s DNAT', async (t) => {
      const r = trace('default/toolbox', 'svc/default/web');
      const node = forward(r)[1]!;
      const kp = node.rules.filter((x) => x.table === 'kube-proxy');
      t.ok(kp.some((x) => x.chain === 'services' && /vmap @service-ips/.test(x.rule) && /^goto service-\w+-default\/web\/tcp\/http$/.test(x.verdict)), 'the services map sends it to the service chain');
      const dnat = kp.find((x) => x.chain.startsWith('endpoint-') && /dnat to/.test(x.rule));
      t.ok(dnat, 'an endpoint chain DNATs');
      t.match(dnat?.rule, new RegExp(`dnat to ${forward(r).at(-1)!.packetIn.daddr!.replace(/\./g, '\\.')}:8080`), 'to the pod that got it');
      t.equal(r.verdict.outcome, 'delivered');
    });

    await t.test('P6 NodePort with externalTrafficPolicy Cluster: masqueraded on the node', async (t) => {
      const r = trace('external', 'node/node1', '--port', '30999');
      const node = forward(r).find((h) => h.place === 'node1')!;
      t.ok(node.rules.some((x) => x.table === 'kube-proxy' && /masquerade/.test(x.rule)), 'the masquerade rule');
      t.equal(r.verdict.outcome, 'delivered');
      t.notMatch(r.probes[0]!.result.answer, /saw the client as 203\.0\.113\.10/, 'the pod does not see the client');
    });

    await t.test('P6 NodePort with externalTrafficPolicy Local: the client address kept, no masquerade', async (t) => {
      const api = plan.services.find((s) => s.key === 'shop/api')!;
      const endpointNode = plan.pods.find((p) => p.labels.app === 'api')!.node;
      const r = trace('external', `node/${endpointNode}`, '--port', String(api.ports[0]!.nodePort));
      const node = forward(r).find((h) => h.place === endpointNode)!;
      t.ok(node.rules.some((x) => x.table === 'kube-proxy' && /dnat to/.test(x.rule)), 'kube-proxy\'s DNAT on the endpoint\'s node');
      t.notOk(node.rules.some((x) => x.table === 'kube-proxy' && /masquerade/.test(x.rule)), 'Local: no masquerade');
      t.match(r.probes.at(-1)!.result.answer, /saw the client as 203\.0\.113\.10/);
    });

    await t.test('P7 outside to a LoadBalancer IP: the load balancer\'s DNAT, then the node\'s map', async (t) => {
      const lb = plan.services.find((s) => s.key === 'shop/storefront')!;
      const r = trace('external', lb.loadBalancerIP!);
      const hops = forward(r);
      const balancer = hops.find((h) => h.place === 'lb')!;
      t.ok(balancer.rules.some((x) => x.table === 'kube-netlab-lb' && /dnat to 192\.168\.56\.1\d:\d+/.test(x.rule)), 'the load balancer DNATs to a node port');
      t.ok(hops.some((h) => /^node\d$/.test(h.place) && h.rules.some((x) => x.table === 'kube-proxy' && /dnat to/.test(x.rule))), 'a node DNATs to a storefront pod');
      t.match(r.verdict, { outcome: 'delivered', place: /^pod shop\/storefront-/ });
    });

    await t.test('P8 outside to an Ingress: two connections, client to nginx and nginx to the backend pod', async (t) => {
      const r = trace('external', 'https://shop.example.com/api');
      const p = r.probes.at(-1)!;
      const legs = [...new Set(p.hops.map((h) => h.leg))];
      t.equal(legs.length, 2, 'the client\'s connection and nginx\'s');
      t.match(p.hops.filter((h) => h.direction === 'forward' && h.leg === 1).at(-1), { place: /^pod ingress-nginx\/ingress-nginx-controller-/, local: true });
      t.match(r.verdict, { outcome: 'delivered', place: /^pod shop\/api-/ });
    });

    await t.test('P9 hostPort: the portmap DNAT on the pod\'s node', async (t) => {
      const r = trace('external', 'node/node3', '--port', '8081');
      const node = forward(r).find((h) => h.place === 'node3')!;
      t.match(rules(node), /CNI-DN-\w+ .*--to-destination 10\.244\.2\.\d+:8080|dnat to 10\.244\.2\.\d+:8080/);
      t.match(r.verdict, { outcome: 'delivered', place: 'pod default/edge' });
    });

    await t.test('P10 a name: the DNS query through the kube-dns map to a coredns pod, then the service', async (t) => {
      const r = trace('default/toolbox', 'web.default.svc.cluster.local');
      t.equal(r.probes.length, 2, 'the lookup, then the probe');
      const lookup = r.probes[0]!;
      const hops = lookup.hops.filter((h) => h.direction === 'forward' && h.leg === 1);
      t.ok(hops[1]!.rules.some((x) => x.table === 'kube-proxy' && /dnat to/.test(x.rule)), 'the query is DNATed on the client\'s node');
      t.match(hops.at(-1), { place: /^pod kube-system\/coredns-/, local: true });
      t.match(lookup.result.answer, /^NOERROR 10\.96\.0\.11$/);
      t.equal(r.verdict.outcome, 'delivered');
    });

    await t.test('P12 pod to the outside: ip-masq on the node, the server sees the node', async (t) => {
      const r = trace('default/toolbox', 'legacy.example.net');
      const hops = forward(r);
      t.match(rules(hops[1]!), /MASQUERADE|masquerade/);
      const nodeIP = plan.nodes.find((n) => n.name === toolbox.node)!.ip;
      t.equal(hops.at(-1)!.packetIn.saddr, nodeIP, 'past the node the source is the node IP');
      t.match(r.probes.at(-1)!.result.answer, new RegExp(`saw the client as ${nodeIP.replace(/\./g, '\\.')}`));
    });

    await t.test('P13 nothing outside reaches a pod: the internet router has no route', async (t) => {
      const dst = plan.pods.find((p) => p.labels.app === 'web' && p.node === 'node1')!;
      const r = trace('external', dst.key);
      t.match(r.verdict, { outcome: /refused|dropped/, place: 'internet', line: /no route/ });
    });

    await t.test('P11 in nftables mode: the policy table drops it', async (t) => {
      const r = trace('default/toolbox', 'svc/shop/api');
      t.match(r.verdict, { outcome: 'dropped', line: /inet kube-netlab-netpol ingress-shop\/api-\w+: "shop\/api-\w+ is isolated for ingress by shop\/shop-ingress; no rule allows it"/ });
    });

    await t.test('the root namespace is as it was', async (t) => {
      t.same(rootSnapshot(), before);
    });
  });

  for (const backend of ['host-gw', 'cloud-routes'] as const) {
    t.test(`P3 on ${backend}`, async (t) => {
      const name = labName(backend === 'host-gw' ? 'trh' : 'trc');
      const dir = tempDir();
      t.teardown(() => {
        cli(['down', '--name', name]);
      });
      const up = cli(['up', '-f', writeLab(dir, name, smallLab(name, backend))]);
      t.equal(up.code, 0, up.stderr);
      const plan = planOf(name);
      const web = (node: string) => plan.pods.find((p) => p.labels.app === 'web' && p.node === node)!;
      const [src, dst] = [web('node1'), web('node2')];
      const r = traceOf(name, src.key, dst.key);
      const hops = forward(r);
      const route = (h: JsonHop) => h.objects.find((o) => o.what === 'route')?.text ?? '';
      if (backend === 'host-gw') {
        t.same(hops.map((h) => h.place), [`pod ${src.key}`, 'node1', 'router', 'node2', `pod ${dst.key}`]);
        t.match(route(hops[1]!), /via 192\.168\.56\.12 dev eth0/, 'node1 routes node2\'s pods to node2');
        t.match(hops[2]!.objects.find((o) => o.what === 'bridge')?.text, /^br0 forwards \S+ to port to-node2$/, 'the node network only switches it: one L2 hop');
      } else {
        t.same(hops.map((h) => h.place), [`pod ${src.key}`, 'node1', 'router', 'node2', `pod ${dst.key}`]);
        t.match(route(hops[1]!), /via 192\.168\.56\.1 dev eth0/, 'node1 has no route of its own: its default route');
        t.notOk(hops.some((h) => h.objects.some((o) => o.text.startsWith('✗'))), 'which is no fault on cloud-routes');
        t.match(route(hops[2]!), /via 192\.168\.56\.12 dev br0/, 'the router (the cloud\'s route table) holds the pod route');
      }
      t.equal(hops.at(-1)!.packetIn.saddr, src.ip, 'no NAT between pods');
      t.match(r.verdict, { outcome: 'delivered', place: `pod ${dst.key}` });
      t.same(traceLeftovers(plan), [], 'no trace table or monitor left in the lab');

      // P2: two pods of node2, bridged by cbr0 whatever the backend.
      const same = traceOf(name, 'other/duo', 'other/solo', '--port', '8080');
      t.same(forward(same).map((h) => h.place), ['pod other/duo', 'node2', 'pod other/solo'], 'P2: never leaves node2');
      t.match(forward(same)[1], { in: 'cbr0', out: 'cbr0' });
      t.match(same.verdict, { outcome: 'delivered', place: 'pod other/solo' });
      t.same(traceLeftovers(plan), [], 'nothing left after the second trace');
    });
  }
}
