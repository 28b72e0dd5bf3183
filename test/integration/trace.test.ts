/**
 * `trace` on the default lab (vxlan, kube-proxy iptables): one real probe
 * per seed path, followed through every namespace it crossed, in order,
 * with the rules that moved it and one verdict. After every trace no trace
 * table and no monitor is left anywhere, and the root namespace is as it
 * was. A deleted route makes the trace stop at that node; `verify` then
 * names the trace that shows it. An interrupted trace leaves nothing.
 * `graph` draws the live lab with the path.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../../dist/model/types.js';
import { CLI, cli, isRoot, labName, tempDir, writeLab } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { rootSnapshot } from '../helpers/host.js';
import { CLUSTER_NODEPORT, traceLeftovers, type JsonHop, type JsonProbe, type JsonTrace } from '../helpers/trace.js';

const DEFAULT_LAB = fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  t.test('trace on the default lab: every seed path, hop by hop', async (t) => {
    const name = labName('trc');
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--name', name]);
    });
    const file = writeLab(dir, name, readFileSync(DEFAULT_LAB, 'utf8').replace(/^ {2}name: demo$/m, `  name: ${name}`) + CLUSTER_NODEPORT);
    const before = rootSnapshot();
    const up = cli(['up', '-f', file]);
    t.equal(up.code, 0, up.stderr);
    const plan = JSON.parse(readFileSync(`/run/kube-netlab/${name}/plan.json`, 'utf8')) as Plan;
    const pod = (key: string) => plan.pods.find((p) => p.key === key)!;
    const onNode = (app: string, node: string) => plan.pods.find((p) => p.labels.app === app && p.node === node)!;
    const toolbox = pod('default/toolbox');

    const trace = (...args: string[]): JsonTrace => {
      const r = cli(['trace', '--name', name, '-o', 'json', ...args]);
      t.equal(traceLeftovers(plan).join('\n'), '', `nothing left after trace ${args.join(' ')}`);
      t.equal(r.stderr, '', `trace ${args.join(' ')}: no error`);
      return JSON.parse(r.stdout) as JsonTrace;
    };
    const forward = (p: JsonProbe, leg = 1) => p.hops.filter((h) => h.direction === 'forward' && h.leg === leg);
    const places = (p: JsonProbe, leg = 1) => forward(p, leg).map((h) => h.place);
    const rules = (h: JsonHop) => h.rules.map((r) => r.rule).join('\n');

    await t.test('P1 container to container in one pod: over loopback, never leaving the namespace', async (t) => {
      const r = trace('shop/cache', 'shop/cache', '--port', '9121');
      const hops = forward(r.probes[0]!);
      t.same(hops.map((h) => h.place), ['pod shop/cache']);
      t.match(hops[0], { out: 'lo', local: true });
      t.match(r.verdict, { outcome: 'delivered', place: 'pod shop/cache' });
    });

    await t.test('P2 pod to pod on the same node: through cbr0, bridged', async (t) => {
      const dst = onNode('web', toolbox.node);
      const r = trace('default/toolbox', dst.key);
      const p = r.probes[0]!;
      t.same(places(p), ['pod default/toolbox', toolbox.node, `pod ${dst.key}`]);
      const node = forward(p)[1]!;
      t.match(node, { in: 'cbr0', out: 'cbr0' });
      t.match(node.objects.find((o) => o.what === 'bridge')?.text, new RegExp(`^cbr0 forwards 0a:58:\\S+ to port ${dst.hostVeth}$`));
      t.match(r.verdict, { outcome: 'delivered', place: `pod ${dst.key}` });
    });

    await t.test('P3 and P4 on vxlan: the tunnel, its VNI and the peer VTEP', async (t) => {
      const dst = onNode('web', 'node1');
      const r = trace('default/toolbox', dst.key);
      const p = r.probes[0]!;
      t.same(places(p), ['pod default/toolbox', toolbox.node, 'node1', `pod ${dst.key}`]);
      const sender = forward(p)[1]!;
      t.match(sender, { in: 'cbr0', out: 'flannel.1' });
      t.match(sender.objects.find((o) => o.what === 'vxlan')?.text, /is VTEP \S+; fdb \S+ dst 192\.168\.56\.11: VNI 1, outer UDP to 192\.168\.56\.11:8472/);
      t.match(forward(p)[2], { in: 'flannel.1', out: 'cbr0' });
      t.equal(r.verdict.outcome, 'delivered');
    });

    await t.test('P5 pod to ClusterIP: KUBE-SVC and KUBE-SEP on the client node, the DNAT target answers', async (t) => {
      const svc = plan.services.find((s) => s.key === 'default/web')!;
      const r = trace('default/toolbox', 'svc/default/web');
      const p = r.probes[0]!;
      const node = forward(p)[1]!;
      t.equal(node.place, toolbox.node, 'DNAT happens on the client\'s node');
      t.match(rules(node), new RegExp(`-A KUBE-SERVICES -d ${svc.clusterIP}/32 .*-j KUBE-SVC-`));
      const dnat = /-A KUBE-SEP-\w+ .*--to-destination (\S+)/.exec(rules(node));
      t.ok(dnat, 'the KUBE-SEP DNAT rule');
      t.equal(`${node.packetOut.daddr}:${node.packetOut.dport}`, dnat?.[1], 'the packet left with the DNAT target');
      t.match(node.objects.find((o) => o.what === 'conntrack')?.text, new RegExp(`→ ${svc.clusterIP!.replace(/\./g, '\\.')}:80, answered from ${dnat?.[1]?.replace(/\./g, '\\.')} `), 'the conntrack entry that undoes it on the reply');
      const delivered = forward(p).at(-1)!;
      t.equal(delivered.packetIn.daddr, dnat?.[1]?.split(':')[0]);
      t.match(r.verdict, { outcome: 'delivered', place: delivered.place });
      t.match(p.result.answer, new RegExp(`from ${delivered.place.replace('pod ', '')}`));
    });

    await t.test('P6 NodePort with externalTrafficPolicy Local: KUBE-SVL, the client address kept', async (t) => {
      const api = plan.services.find((s) => s.key === 'shop/api')!;
      const endpointNode = plan.pods.find((p) => p.labels.app === 'api')!.node;
      const r = trace('external', `node/${endpointNode}`, '--port', String(api.ports[0]!.nodePort));
      const node = forward(r.probes[0]!).find((h) => h.place === endpointNode)!;
      t.match(rules(node), /-A KUBE-NODEPORTS .*-j KUBE-EXT-/);
      t.match(rules(node), /-j KUBE-SVL-/);
      t.notMatch(rules(node), /MASQUERADE/, 'Local: no masquerade');
      t.match(r.probes[0]!.result.answer, /saw the client as 203\.0\.113\.10/);
    });

    await t.test('P6 NodePort with externalTrafficPolicy Cluster: KUBE-SVC, then MASQUERADE on the node', async (t) => {
      const r = trace('external', 'node/node1', '--port', '30999');
      const node = forward(r.probes[0]!).find((h) => h.place === 'node1')!;
      t.match(rules(node), /-A KUBE-NODEPORTS .*--dport 30999 .*-j KUBE-EXT-/);
      t.match(rules(node), /-j KUBE-MARK-MASQ/, 'marked for masquerade: the reply must come back through this node');
      t.match(rules(node), /MASQUERADE/, 'and masqueraded on the way out');
      t.equal(r.verdict.outcome, 'delivered');
      t.notMatch(r.probes[0]!.result.answer, /saw the client as 203\.0\.113\.10/, 'the pod does not see the client');
    });

    await t.test('P7 outside to a LoadBalancer IP: the load balancer\'s DNAT to a NodePort, then the node\'s', async (t) => {
      const lb = plan.services.find((s) => s.key === 'shop/storefront')!;
      const r = trace('external', lb.loadBalancerIP!);
      const p = r.probes[0]!;
      t.same(places(p).slice(0, 5), ['external', 'internet', 'lb', 'internet', 'router']);
      const balancer = forward(p)[2]!;
      t.match(rules(balancer), /dnat to 192\.168\.56\.1\d:\d+/);
      t.ok(balancer.rules.some((r) => r.table === 'kube-netlab-lb'));
      t.match(r.verdict, { outcome: 'delivered', place: /^pod shop\/storefront-/ });
    });

    await t.test('P8 outside to an Ingress: two connections, client to nginx and nginx to the backend pod', async (t) => {
      const r = trace('external', 'https://shop.example.com/api');
      const p = r.probes[0]!;
      const first = forward(p, 1);
      t.match(first.at(-1), { place: /^pod ingress-nginx\/ingress-nginx-controller-/, local: true });
      const legs = [...new Set(p.hops.map((h) => h.leg))].filter((l) => l !== 1);
      t.equal(legs.length, 1, 'one connection of nginx');
      const second = forward(p, legs[0]);
      t.equal(second[0]!.place, first.at(-1)!.place, 'it starts in the controller pod that got the request');
      t.match(second.at(-1), { place: /^pod shop\/api-/, local: true });
      t.match(r.verdict, { outcome: 'delivered', place: /^pod shop\/api-/ });
    });

    await t.test('P9 hostPort: CNI-HOSTPORT-DNAT on the pod\'s node', async (t) => {
      const r = trace('external', 'node/node3', '--port', '8081');
      const node = forward(r.probes[0]!).find((h) => h.place === 'node3')!;
      t.match(rules(node), /-A CNI-HOSTPORT-DNAT .*-j CNI-DN-/);
      t.match(rules(node), /-A CNI-DN-\w+ .*--to-destination 10\.244\.2\.\d+:8080/);
      t.match(r.verdict, { outcome: 'delivered', place: 'pod default/edge' });
    });

    await t.test('P10 a name: the DNS query DNATed to a coredns pod, then the service', async (t) => {
      const r = trace('default/toolbox', 'web.default.svc.cluster.local');
      t.equal(r.probes.length, 2, 'the lookup, then the probe');
      const lookup = r.probes[0]!;
      const node = forward(lookup)[1]!;
      t.match(rules(node), /-A KUBE-SERVICES -d 10\.96\.0\.10\/32 -p udp .*--dport 53 -j KUBE-SVC-/);
      t.match(forward(lookup).at(-1), { place: /^pod kube-system\/coredns-/, local: true });
      t.match(lookup.result.answer, /^NOERROR 10\.96\.0\.11$/);
      t.match(r.probes[1]!.destination, { ip: '10.96.0.11', port: 80 });
      t.equal(r.verdict.outcome, 'delivered');
    });

    await t.test('P12 pod to the outside: ip-masq on the node, the server sees the node', async (t) => {
      const r = trace('default/toolbox', 'legacy.example.net');
      const p = r.probes[0]!;
      const node = forward(p)[1]!;
      t.match(rules(node), /-A FLANNEL-POSTRTG .*-j MASQUERADE/);
      t.match(forward(p).at(-1), { place: 'legacy.example.net', local: true });
      const nodeIP = plan.nodes.find((n) => n.name === toolbox.node)!.ip;
      t.equal(forward(p).at(-1)!.packetIn.saddr, nodeIP, 'past the node the source is the node IP');
      t.match(p.result.answer, new RegExp(`saw the client as ${nodeIP.replace(/\./g, '\\.')}`));
    });

    await t.test('P13 nothing outside reaches a pod: the internet router has no route', async (t) => {
      const dst = onNode('web', 'node1');
      const r = trace('external', dst.key);
      t.match(r.verdict, { outcome: /refused|dropped/, place: 'internet', line: /no route/ });
    });

    await t.test('P11 a NetworkPolicy drop names the policy and where it applies', async (t) => {
      const r = trace('default/toolbox', 'svc/shop/api');
      t.match(r.verdict, { outcome: 'dropped', line: /NETPOL-POD-ING-\w+: "shop\/api-\w+ is isolated for ingress by shop\/shop-ingress; no rule allows it"/ });
      t.ok(plan.pods.some((p) => p.labels.app === 'api' && p.node === r.verdict.place), 'dropped on a node of an api pod: ingress is enforced on the receiver\'s node');
    });

    await t.test('Ctrl-C in the middle of a trace: the trace tables and monitors go with it', async (t) => {
      // A dropped destination keeps the probe waiting for its timeout: the interrupt comes while everything is in place.
      const child = spawn(process.execPath, [CLI, 'trace', '--name', name, 'default/toolbox', 'svc/shop/api'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const placed = await eventually(() => traceLeftovers(plan).some((l) => l.startsWith('monitor')) && traceLeftovers(plan).some((l) => l.startsWith('trace table')), { every: 20, timeout: 20_000 });
      t.ok(placed, 'the trace put its tables and monitors in place');
      child.kill('SIGINT');
      t.equal(await exited, 130, 'interrupted');
      t.same(traceLeftovers(plan), [], 'nothing is left: no trace table, no monitor');
    });

    await t.test('a route deleted on a node: the trace stops there with "no route", and verify names the trace', async (t) => {
      const node = plan.nodes.find((n) => n.name === toolbox.node)!;
      const peer = plan.nodes.find((n) => n.name === 'node1')!;
      const ip = (...args: string[]) => spawnSync('ip', ['-n', node.netns, ...args], { encoding: 'utf8' });
      const route = ip('route', 'show', peer.podCIDR).stdout.trim();
      t.match(route, /dev flannel\.1/);
      t.equal(ip('route', 'del', peer.podCIDR).status, 0);
      try {
        const r = trace('default/toolbox', onNode('web', 'node1').key);
        t.match(r.verdict, { outcome: 'dropped', place: node.name, line: new RegExp(`no route.*${peer.podCIDR.replace(/\./g, '\\.')}`) });
        const v = cli(['verify', '--name', name, '--only', 'P3']);
        t.equal(v.code, 1);
        t.match(v.stdout, new RegExp(`explain: kube-netlab trace \\S+ 10\\.244\\.0\\.\\d+ --port \\d+ --name ${name}`));
      } finally {
        t.equal(ip('route', 'add', ...route.split(/\s+/)).status, 0, 'route put back');
      }
      t.equal(cli(['check', '--name', name]).code, 0, 'clean again');
    });

    await t.test('graph of the live lab with a traced path', async (t) => {
      const g = cli(['graph', '--name', name, '-o', 'json', '--trace', 'default/toolbox', 'svc/default/web']);
      t.equal(g.code, 0, g.stderr);
      const model = JSON.parse(g.stdout) as { nodes: { id: string; onPath?: boolean; differs?: string[] }[]; edges: { kind: string; onPath?: boolean }[] };
      t.ok(model.nodes.find((n) => n.id === 'pod:default/toolbox')?.onPath, 'the source is on the path');
      t.ok(model.nodes.find((n) => n.id === 'svc:default/web')?.onPath, 'the service is on the path');
      t.ok(model.edges.some((e) => e.kind === 'veth' && e.onPath), 'a veth edge is on the path');
      t.notOk(model.nodes.some((n) => n.differs?.length), 'nothing differs from the plan');
      const svg = cli(['graph', '--name', name, '-o', 'svg']);
      t.match(svg.stdout, /<svg[\s\S]*default\/toolbox[\s\S]*<\/svg>/);
    });

    t.same(rootSnapshot(), before, 'the root namespace is as it was');
  });
}
