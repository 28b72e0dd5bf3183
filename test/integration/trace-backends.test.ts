/**
 * `trace` in kube-proxy's nftables mode on the udp backend (the default lab
 * with a NodePort of externalTrafficPolicy Cluster added), and across nodes
 * on host-gw and cloud-routes: the nft maps and the DNAT, the masquerade of
 * a Cluster NodePort, an nftables policy drop, and each backend's way from
 * one node to the other.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../../src/model/types.js';
import { cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';
import { monitorsIn, type JsonHop, type JsonTrace } from '../helpers/trace.js';

const DEFAULT_LAB = fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));

const CLUSTER_NODEPORT = `---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30999}]
`;

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
    const yaml = readFileSync(DEFAULT_LAB, 'utf8').replace(/^ {2}name: demo$/m, `  name: ${name}`).replace('backend: vxlan', 'backend: udp').replace('proxyMode: iptables', 'proxyMode: nftables');
    const up = cli(['up', '-f', writeLab(dir, name, yaml + CLUSTER_NODEPORT)]);
    t.equal(up.code, 0, up.stderr);
    const plan = planOf(name);
    const toolbox = plan.pods.find((p) => p.key === 'default/toolbox')!;

    await t.test('P3 on udp: flannel0 and the daemon\'s datagram to the peer node', async (t) => {
      const dst = plan.pods.find((p) => p.labels.app === 'web' && p.node === 'node1')!;
      const r = traceOf(name, 'default/toolbox', dst.key);
      const hops = forward(r);
      t.same(hops.map((h) => h.place), ['pod default/toolbox', toolbox.node, 'node1', `pod ${dst.key}`]);
      t.match(hops[1], { in: 'cbr0', out: 'flannel0' });
      t.match(hops[1]!.objects.find((o) => o.what === 'udp')?.text, /UDP datagram to node1 192\.168\.56\.11:8285/);
      t.match(hops[2], { in: 'flannel0', out: 'cbr0' });
      t.equal(r.verdict.outcome, 'delivered');
    });

    await t.test('P5 in nftables mode: the service map and the endpoint chain\'s DNAT', async (t) => {
      const r = traceOf(name, 'default/toolbox', 'svc/default/web');
      const node = forward(r)[1]!;
      const kp = node.rules.filter((x) => x.table === 'kube-proxy');
      t.ok(kp.some((x) => x.chain === 'services' && /vmap @service-ips/.test(x.rule) && /^goto service-\w+-default\/web\/tcp\/http$/.test(x.verdict)), 'the services map sends it to the service chain');
      const dnat = kp.find((x) => x.chain.startsWith('endpoint-') && /dnat to/.test(x.rule));
      t.ok(dnat, 'an endpoint chain DNATs');
      t.match(dnat?.rule, new RegExp(`dnat to ${forward(r).at(-1)!.packetIn.daddr!.replace(/\./g, '\\.')}:8080`), 'to the pod that got it');
      t.equal(r.verdict.outcome, 'delivered');
    });

    await t.test('P6 NodePort with externalTrafficPolicy Cluster: masqueraded on the node', async (t) => {
      const r = traceOf(name, 'external', 'node/node1', '--port', '30999');
      const node = forward(r).find((h) => h.place === 'node1')!;
      t.ok(node.rules.some((x) => x.table === 'kube-proxy' && /masquerade/.test(x.rule)), 'the masquerade rule');
      t.equal(r.verdict.outcome, 'delivered');
      t.notMatch(r.probes[0]!.result.answer, /saw the client as 203\.0\.113\.10/, 'the pod does not see the client');
    });

    await t.test('P11 in nftables mode: the policy table drops it', async (t) => {
      const r = traceOf(name, 'default/toolbox', 'svc/shop/api');
      t.match(r.verdict, { outcome: 'dropped', line: /inet kube-netlab-netpol ingress-shop\/api-\w+: "shop\/api-\w+ is isolated for ingress by shop\/shop-ingress; no rule allows it"/ });
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
      t.same(monitorsIn([...plan.nodes.map((n) => n.netns), ...plan.pods.map((p) => p.netns)]), [], 'no monitor left in the lab');
    });
  }
}
