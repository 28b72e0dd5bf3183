/**
 * A trace as a path in the graph (highlightOf): each hop's namespace and
 * devices as graph ids, the service it was sent to, and for a trace that
 * did not arrive the place it stopped, marked `stop` in the model and drawn
 * in every format. Built from the plan of the graph's lab file and trace
 * results shaped as `trace` returns them.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseLab } from '../../../dist/config/index.js';
import { renderDot } from '../../../dist/graph/dot.js';
import { renderMermaid } from '../../../dist/graph/mermaid.js';
import { graphOf, nodePartId, podId, serviceId } from '../../../dist/graph/model.js';
import { highlightOf } from '../../../dist/graph/trace-path.js';
import { planLab } from '../../../dist/model/plan.js';
import { verdictOf, type Hop, type ProbeResult } from '../../../dist/trace/hops.js';
import type { TraceResult } from '../../../dist/trace/index.js';
import type { TracedProbe } from '../../../dist/trace/run.js';
import type { TraceDestination } from '../../../dist/trace/targets.js';

const plan = planLab(parseLab([{ file: 'lab.yaml', text: readFileSync(new URL('../../fixtures/graph/lab.yaml', import.meta.url), 'utf8') }]));
const [node1, node2] = plan.nodes as [(typeof plan.nodes)[number], (typeof plan.nodes)[number]];
const webOn = (node: string) => plan.pods.find((p) => p.labels.app === 'web' && p.node === node)!;
const client = webOn(node2.name);
const server = webOn(node1.name);
const svc = plan.services.find((s) => s.key === 'default/web')!;

function hop(netns: string, place: string, via: { in?: string; out?: string; local?: boolean }, extra: Partial<Hop> = {}): Hop {
  return {
    leg: 1,
    direction: 'forward',
    netns,
    place,
    ...(via.in ? { in: via.in } : {}),
    ...(via.out ? { out: via.out } : {}),
    packetIn: { saddr: client.ip, sport: 21000, daddr: svc.clusterIP!, dport: 80, protocol: 'tcp', ttl: 64 },
    packetOut: { saddr: client.ip, sport: 21000, daddr: server.ip, dport: 8080, protocol: 'tcp', ttl: 63 },
    rules: [],
    local: via.local === true,
    observed: true,
    objects: [],
    ...extra,
  };
}

/** The probe's hops from the web pod on node2 to the service, over the tunnel to node1. */
const sent = hop(client.netns, `pod ${client.key}`, { out: 'eth0' });
const sender = hop(node2.netns, node2.name, { in: node2.bridge, out: 'flannel.1' });
const receiver = hop(node1.netns, node1.name, { in: 'flannel.1', out: node1.bridge });
const delivered = hop(server.netns, `pod ${server.key}`, { in: 'eth0', local: true });
const reply = { ...hop(server.netns, `pod ${server.key}`, { out: 'eth0' }), direction: 'reply' as const };

function traced(hops: Hop[], result: ProbeResult, dst: Partial<TraceDestination> = {}): TraceResult {
  const probe: TracedProbe = {
    src: { kind: 'pod', label: client.key, netns: client.netns, ip: client.ip },
    dst: { kind: 'service', label: `service ${svc.key}`, ip: svc.clusterIP!, port: 80, protocol: 'tcp', candidates: [], targets: [{ ip: server.ip, port: 8080 }], ...dst },
    probe: `curl http://${svc.clusterIP}:80/`,
    localPort: 21000,
    flows: [{ protocol: 'tcp', localPort: 21000 }],
    hops,
    result,
    verdict: verdictOf(hops, result),
  };
  return { lab: plan.lab, probes: [probe], verdict: probe.verdict };
}

const path = [podId(client.key), nodePartId(node2.name, 'cbr0'), nodePartId(node2.name, 'tunnel'), nodePartId(node1.name, 'tunnel'), nodePartId(node1.name, 'cbr0')];

t.test('dropped on a node by a policy: the path up to there, the node marked stop with the verdict', async (t) => {
  const dropped = { ...receiver, dropped: 'ip filter NETPOL-POD-ING-X: "default/web isolated for ingress; no rule allows it"' };
  const r = traced([sent, sender, dropped], { refused: false, error: 'curl: (28) timed out' });
  t.match(r.verdict, { outcome: 'dropped', place: node1.name });
  const h = highlightOf(plan, r);
  t.same(h.path, [...path, serviceId(svc.key)], 'hop by hop in the order the packet went, then the service it was sent to');
  t.same(h.stop, { id: nodePartId(node1.name, 'eth0'), reason: r.verdict.line }, 'the node where it stopped');
  t.match(h.stop!.reason, /^dropped at node1 by ip filter NETPOL-POD-ING-X/);

  const g = graphOf(plan, { highlight: h });
  t.equal(g.nodes.find((n) => n.id === nodePartId(node1.name, 'eth0'))!.stop, r.verdict.line, 'marked in the model');
  t.same(g.nodes.filter((n) => n.stop).map((n) => n.id), [nodePartId(node1.name, 'eth0')], 'and nowhere else');
  t.ok(g.nodes.find((n) => n.id === nodePartId(node2.name, 'tunnel'))!.onPath);
  t.notOk(g.nodes.find((n) => n.id === podId(server.key))!.onPath, 'the pod it never reached is off the path');
  t.match(renderDot(g), `■ stopped: ${r.verdict.line.replace(/"/g, '\\"')}`);
  t.match(renderMermaid(g), '■ stopped: dropped at node1');
});

t.test('refused by the pod (nothing listens): the pod is the stop', async (t) => {
  const r = traced([sent, sender, receiver, delivered], { refused: true, error: 'curl: (7) Connection refused' });
  t.match(r.verdict, { outcome: 'refused', place: `pod ${server.key}` });
  const h = highlightOf(plan, r);
  t.same(h.path, [...path, podId(server.key), serviceId(svc.key)]);
  t.same(h.stop, { id: podId(server.key), reason: r.verdict.line });
});

t.test('dropped after the last namespace that saw it: the stop is that namespace', async (t) => {
  const r = traced([sent, sender], { refused: false, error: 'curl: (28) timed out' });
  t.match(r.verdict, { outcome: 'dropped', place: node2.name });
  t.same(highlightOf(plan, r).stop, { id: nodePartId(node2.name, 'eth0'), reason: r.verdict.line });
});

t.test('delivered: the whole path, no stop; nor one where nothing was seen', async (t) => {
  const ok = traced([sent, sender, receiver, delivered, reply], { answer: `HTTP 200 from ${server.key}`, refused: false });
  const h = highlightOf(plan, ok);
  t.same(h.path, [...path, podId(server.key), serviceId(svc.key)], 'the reply adds nothing');
  t.equal(h.stop, undefined);
  t.notOk(graphOf(plan, { highlight: h }).nodes.some((n) => n.stop));
  const nothing = traced([], { refused: false, error: 'curl: (28) timed out' });
  t.match(nothing.verdict, { outcome: 'dropped' });
  t.same(highlightOf(plan, nothing), { path: [serviceId(svc.key)] }, 'no place: no stop');
});

t.test('to a pod address: no service on the path; after a DNS lookup only the probe counts', async (t) => {
  const direct = traced([sent, sender, { ...receiver, dropped: 'ip filter FORWARD: chain policy drop' }], { refused: false }, { kind: 'pod', label: `pod ${server.key}`, ip: server.ip, port: 8080 });
  const h = highlightOf(plan, direct);
  t.same(h.path, path);
  t.same(h.stop?.id, nodePartId(node1.name, 'eth0'));
  const lookupHops = [hop(client.netns, `pod ${client.key}`, { out: 'eth0' }), hop(node2.netns, node2.name, { in: node2.bridge, out: node2.bridge })];
  const lookup: TracedProbe = { ...direct.probes[0]!, dst: { ...direct.probes[0]!.dst, kind: 'dns', dnsName: 'web.default' }, hops: lookupHops, resolved: server.ip };
  t.same(highlightOf(plan, { ...direct, probes: [lookup, direct.probes[0]!] }), h);
});
