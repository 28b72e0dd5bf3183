/**
 * The graph of a fixed plan, without root: its Mermaid and DOT texts
 * against reviewed golden files, the SVG holding every node and pod, and
 * what check's differences and a traced path mark.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseLab } from '../../../dist/config/index.js';
import { planLab } from '../../../dist/model/plan.js';
import { graphOf, nodePartId, podId, serviceId } from '../../../dist/graph/model.js';
import { renderDot } from '../../../dist/graph/dot.js';
import { renderMermaid } from '../../../dist/graph/mermaid.js';
import { renderSvg } from '../../../dist/graph/svg.js';
import { renderHtml } from '../../../dist/graph/html.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/graph/${name}`, import.meta.url), 'utf8');
const plan = planLab(parseLab([{ file: 'lab.yaml', text: fixture('lab.yaml') }]));

t.test('Mermaid and DOT: the reviewed texts', async (t) => {
  const g = graphOf(plan);
  t.equal(renderMermaid(g), fixture('lab.mmd'));
  t.equal(renderDot(g), fixture('lab.dot'));
  const again = planLab(parseLab([{ file: 'lab.yaml', text: fixture('lab.yaml') }]));
  t.equal(renderMermaid(graphOf(again)), renderMermaid(g), 'the same lab file, planned again, gives the same text');
});

t.test('the model: every node, pod and service, tunnels between nodes, DNAT to endpoints', async (t) => {
  const g = graphOf(plan);
  for (const n of plan.nodes) for (const part of ['eth0', 'cbr0', 'tunnel'] as const) t.ok(g.nodes.some((x) => x.id === nodePartId(n.name, part)), `${n.name} ${part}`);
  for (const p of plan.pods) t.ok(g.nodes.some((x) => x.id === podId(p.key) && x.cluster === p.node), `pod ${p.key} in its node`);
  t.same(
    g.edges.filter((e) => e.kind === 'tunnel').map((e) => [e.from, e.to, e.label]),
    [[nodePartId('node1', 'tunnel'), nodePartId('node2', 'tunnel'), 'VXLAN VNI 1, udp/8472']],
  );
  const web = plan.pods.filter((p) => p.labels.app === 'web').map((p) => podId(p.key)).sort();
  t.same(g.edges.filter((e) => e.kind === 'dnat' && e.from === serviceId('default/web')).map((e) => e.to).sort(), web);
  t.ok(g.edges.some((e) => e.kind === 'lb' && e.to === serviceId('default/web') && e.label?.startsWith('203.0.113.')), 'the LB IP leads to the service');
  t.ok(g.edges.some((e) => e.from === 'ingress:www.example.com' && e.to === serviceId('default/web')), 'the Ingress host leads to its backend');
  t.ok(g.edges.some((e) => e.kind === 'cname' && e.to === 'server:legacy.example.net'), 'the ExternalName points at the external server');
});

t.test('an Ingress backend the lab does not have draws no edge', async (t) => {
  const broken = { ...plan, ingresses: plan.ingresses.map((i) => ({ ...i, rules: i.rules.map((r) => ({ ...r, paths: r.paths.map((p) => ({ ...p, backend: { ...p.backend, service: 'nope' } })) })) })) };
  const g = graphOf(broken);
  t.notOk(g.edges.some((e) => e.to === serviceId('default/nope')));
  t.notMatch(renderMermaid(g), /missing/);
});

t.test('a pod that is not ready is no endpoint', async (t) => {
  const [first, second] = plan.pods.filter((p) => p.labels.app === 'web');
  const g = graphOf(plan, { ready: (key) => key !== first!.key });
  t.same(g.edges.filter((e) => e.kind === 'dnat' && e.from === serviceId('default/web')).map((e) => e.to), [podId(second!.key)]);
});

t.test('host-gw draws routes between the nodes instead of tunnels; cloud-routes puts them in the router', async (t) => {
  const spec = parseLab([{ file: 'lab.yaml', text: fixture('lab.yaml') }]);
  const hostGw = graphOf(planLab({ ...spec, podNetwork: { ...spec.podNetwork, backend: 'host-gw' } }));
  t.notOk(hostGw.nodes.some((n) => n.kind === 'tunnel'));
  t.match(hostGw.edges.find((e) => e.kind === 'tunnel'), { from: nodePartId('node1', 'eth0'), to: nodePartId('node2', 'eth0'), label: '10.244.1.0/24 via 192.168.56.12 / 10.244.0.0/24 via 192.168.56.11' });
  const cloud = graphOf(planLab({ ...spec, podNetwork: { ...spec.podNetwork, backend: 'cloud-routes' } }));
  t.notOk(cloud.edges.some((e) => e.kind === 'tunnel'));
  t.match(cloud.nodes.find((n) => n.id === 'router')!.label, ['router', /br0/, /uplink/, '10.244.0.0/24 via 192.168.56.11', '10.244.1.0/24 via 192.168.56.12']);
});

t.test('differences and a traced path are marked, in every format', async (t) => {
  const pod = plan.pods.find((p) => p.labels.app === 'web')!;
  const g = graphOf(plan, {
    differences: [
      { place: 'node2', object: 'fdb entry 66:71:39:aa:b5:29', problem: 'missing' },
      { place: 'node1', object: 'sysctl net.ipv4.ip_forward', problem: '0 (expected 1)' },
      { place: `pod ${pod.key}`, object: 'link eth0', problem: 'down (expected up)' },
    ],
    highlight: { path: ['client:external', 'internet', 'lb', 'router', nodePartId('node1', 'eth0'), nodePartId('node1', 'cbr0'), podId(pod.key)], stop: { id: nodePartId('node1', 'eth0'), reason: 'no route' } },
  });
  t.same(g.nodes.find((n) => n.id === nodePartId('node2', 'tunnel'))!.differs, ['fdb entry 66:71:39:aa:b5:29: missing']);
  t.same(g.nodes.find((n) => n.id === nodePartId('node1', 'eth0'))!.differs, ['sysctl net.ipv4.ip_forward: 0 (expected 1)']);
  t.same(g.nodes.find((n) => n.id === podId(pod.key))!.differs, ['link eth0: down (expected up)']);
  t.ok(g.edges.find((e) => e.from === 'internet' && e.to === 'lb')!.onPath, 'edges between path places are on the path');
  t.notOk(g.edges.find((e) => e.from === nodePartId('node2', 'eth0') && e.to === nodePartId('node2', 'tunnel'))!.onPath);
  t.equal(g.nodes.find((n) => n.id === nodePartId('node1', 'eth0'))!.stop, 'no route');
  const dot = renderDot(g);
  t.match(dot, /✗ sysctl net.ipv4.ip_forward: 0 \(expected 1\)/);
  t.match(dot, /■ stopped: no route/);
  t.match(dot, /"internet" -> "lb" \[dir=none, label="to-lb", color="#0055cc", penwidth=3\]/);
  const mermaid = renderMermaid(g);
  t.match(mermaid, /class .* differs;/);
  t.match(mermaid, /linkStyle \d+(,\d+)* stroke:#05c/);
});

t.test('SVG and HTML: every node and pod of the plan, offline', async (t) => {
  const g = graphOf(plan);
  const svg = await renderSvg(g);
  t.match(svg, /^<\?xml/);
  t.match(svg, /<\/svg>\s*$/);
  // Graphviz writes a hyphen as &#45;.
  const text = svg.replace(/&#45;/g, '-');
  for (const n of plan.nodes) t.match(text, `${n.name} eth0`);
  for (const p of plan.pods) t.match(text, `${p.key}</text>`);
  for (const s of plan.services) t.match(text, `svc ${s.key}</text>`);
  t.equal(await renderSvg(g), svg, 'the same picture every time');
  const html = renderHtml(g, svg);
  t.match(html, /^<!doctype html>/);
  t.notMatch(html, /<script|src="http/, 'self-contained: no script, nothing fetched');
  t.match(html, /<svg/);
});
