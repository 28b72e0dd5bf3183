/**
 * Hop assembly from recorded `nft monitor` output of real traces in the
 * default lab (test/fixtures/trace/<case>/: one file per namespace, the
 * probe's flows and result, and what `trace` printed then). The hops come
 * out in the order the packet went, with the same headers and verdict,
 * although every namespace's events arrive apart and unordered.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { parseTrace } from '../../../dist/trace/events.js';
import { assembleHops, hopLines, replyLine, verdictOf, type NamespaceTrace } from '../../../dist/trace/hops.js';
import type { TracedFlow } from '../../../dist/trace/table.js';

const dir = (name: string) => new URL(`../../fixtures/trace/${name}/`, import.meta.url);

function load(name: string, withExpected = true) {
  const probe = JSON.parse(readFileSync(new URL('probe.json', dir(name)), 'utf8')) as { source: string; flows: TracedFlow[]; places: Record<string, string>; result: { answer?: string; refused: boolean } };
  const traces: NamespaceTrace[] = readdirSync(dir(name))
    .filter((f) => f.endsWith('.trace'))
    .sort()
    .reverse() // the order files are read in must not matter
    .map((f) => {
      const netns = f.replace(/\.trace$/, '');
      return { netns, place: probe.places[netns] ?? netns, events: parseTrace(readFileSync(new URL(f, dir(name)), 'utf8')) };
    });
  const hops = assembleHops(traces, probe.flows, () => undefined, probe.source);
  const expected = withExpected ? readFileSync(new URL('expected.txt', dir(name)), 'utf8').split('\n') : [];
  return { probe, hops, expected };
}

/** The hop header lines `trace` printed: number, place, interfaces, addresses. */
const headers = (lines: string[]) => lines.filter((l) => /^ ?\d+ {2}/.test(l));

t.test('pod to a service on another node (vxlan, iptables): DNAT on the sender\'s node, the tunnel, delivery', async (t) => {
  const { probe, hops, expected } = load('pod-to-service');
  const forward = hops.filter((h) => h.direction === 'forward');
  t.same(forward.map((h) => h.place), ['pod default/toolbox', 'node2', 'node1', 'pod default/web-htkzz']);
  t.same(forward.flatMap((h, i) => hopLines(h, i + 1).slice(0, 1)), headers(expected));
  t.match(forward[1], { in: 'cbr0', out: 'flannel.1', packetIn: { daddr: '10.96.0.11', dport: 80 }, packetOut: { daddr: '10.244.0.2', dport: 8080 } });
  t.ok(forward[1]!.rules.some((r) => r.table === 'nat' && /dnat to 10.244.0.2:8080/.test(r.rule)), 'the DNAT rule kube-proxy made');
  t.ok(forward[1]!.rules.some((r) => /jump KUBE-SVC-/.test(r.verdict)), 'the service chain');
  t.ok(forward[3]!.local);
  t.equal(replyLine(hops), expected.find((l) => l.includes('reply:'))!.trim());
  t.equal(`verdict: ${verdictOf(hops, probe.result).line}`, expected.find((l) => l.startsWith('verdict:')));
});

t.test('external client through the cloud load balancer: the internet bridge twice, NodePort DNAT on the node', async (t) => {
  const { probe, hops, expected } = load('external-to-lb');
  const forward = hops.filter((h) => h.direction === 'forward');
  t.same(forward.map((h) => h.place), ['external', 'internet', 'lb', 'internet', 'router', 'node1', 'pod shop/storefront-d8p6w']);
  t.same(forward.flatMap((h, i) => hopLines(h, i + 1).slice(0, 1)), headers(expected));
  t.notOk(forward[3]!.again, 'sent back over the bridge by the load balancer: no copy');
  t.equal(`verdict: ${verdictOf(hops, probe.result).line}`, expected.find((l) => l.startsWith('verdict:')));
});

t.test('a NetworkPolicy drop: the receiving node, the policy and its reason', async (t) => {
  const { probe, hops, expected } = load('policy-drop');
  const forward = hops.filter((h) => h.direction === 'forward');
  t.same(forward.map((h) => h.place), ['pod default/toolbox', 'node2', 'node1']);
  t.match(forward[2]!.dropped, /^ip filter NETPOL-POD-ING-\w+: -A NETPOL-POD-ING|^ip filter NETPOL-POD-ING-\w+: .*drop/);
  t.equal(hops.filter((h) => h.direction === 'reply').length, 0, 'nothing came back');
  const v = verdictOf(hops, probe.result);
  t.match(v, { outcome: 'dropped', place: 'node1' });
  t.same(forward.flatMap((h, i) => hopLines(h, i + 1).slice(0, 1)), headers(expected));
});

t.test('verdicts: refused by a listener-less pod, by a REJECT, with no route; nothing seen', async (t) => {
  const base = { leg: 1, direction: 'forward' as const, rules: [], observed: true as const, objects: [] };
  const pod = { ...base, netns: 'p', place: 'pod a/b', in: 'eth0', local: true, packetIn: { dport: 81 }, packetOut: { dport: 81 } };
  t.match(verdictOf([pod], { refused: true }), { outcome: 'refused', place: 'pod a/b', line: 'refused by pod a/b: nothing listens on port 81 (the kernel answered with a reset)' });
  const node = { ...base, netns: 'n', place: 'node1', in: 'cbr0', local: false, packetIn: {}, packetOut: {}, dropped: 'ip filter KUBE-SERVICES: "default/x has no endpoints"' };
  t.match(verdictOf([node], { refused: true }), { outcome: 'refused', line: 'refused at node1 by ip filter KUBE-SERVICES: "default/x has no endpoints"' });
  t.match(verdictOf([{ ...node, dropped: undefined }], { refused: false }, { place: 'node1', text: 'Network is unreachable' }), { outcome: 'dropped', line: 'dropped at node1: no route (Network is unreachable)' });
  t.match(verdictOf([], { refused: false, error: 'curl: (28) timed out' }), { outcome: 'dropped', line: 'no packet was seen: curl: (28) timed out' });
});

t.test("the reply among the endpoints' readiness-probe answers: only the one to the probe's client", async (t) => {
  // Recorded while node3's kubelet probed web-dps9v: that pod answered the probe (from 10.244.2.2:8080, IP id 0 like a SYN-ACK) before it answered the trace.
  const { hops } = load('reply-among-probes', false);
  t.same(
    hops.map((h) => `${h.direction} ${h.place}`),
    ['forward pod default/toolbox', 'forward node2', 'forward node3', 'forward pod default/web-dps9v', 'reply pod default/web-dps9v', 'reply node3', 'reply node2', 'reply pod default/toolbox'],
  );
  t.match(replyLine(hops), /^reply: pod default\/web-dps9v → node3 → node2 → pod default\/toolbox; conntrack rewrote its source 10\.244\.2\.2:8080 back to 10\.96\.0\.11:80$/);
});

t.test('two packets traced at once: their lines interleave, each keeps its own', async (t) => {
  const text = [
    'trace id aaaa0001 inet kube-netlab-trace prerouting packet: iif "cbr0" ip saddr 10.244.1.4 ip daddr 10.96.0.11 ip ttl 64 ip id 7 ip protocol tcp tcp sport 21000 tcp dport 80 tcp flags == syn',
    'trace id bbbb0002 inet kube-netlab-trace prerouting packet: iif "eth0" ip saddr 192.168.56.11 ip daddr 10.244.1.9 ip ttl 64 ip id 99 ip protocol tcp tcp sport 8080 tcp dport 40000 tcp flags == ack',
    'trace id aaaa0001 ip nat KUBE-SEP-X rule meta l4proto tcp dnat to 10.244.0.2:8080 # handle 9 (verdict accept)',
    'trace id bbbb0002 ip filter FORWARD rule counter packets 1 bytes 1 accept # handle 3 (verdict accept)',
    'trace id aaaa0003 inet kube-netlab-trace forward packet: iif "cbr0" oif "flannel.1" ip saddr 10.244.1.4 ip daddr 10.244.0.2 ip ttl 63 ip id 7 ip protocol tcp tcp sport 21000 tcp dport 8080 tcp flags == syn',
    'trace id aaaa0003 ip filter KUBE-FORWARD rule ct state invalid drop comment "never reject a thing" # handle 4 (verdict continue)',
  ].join('\n');
  const origin = 'trace id cccc0001 inet kube-netlab-trace output packet: oif "eth0" ip saddr 10.244.1.4 ip daddr 10.96.0.11 ip ttl 64 ip id 7 ip protocol tcp tcp sport 21000 tcp dport 80 tcp flags == syn';
  const hops = assembleHops(
    [
      { netns: 'pod', place: 'pod default/toolbox', events: parseTrace(origin) },
      { netns: 'node', place: 'node2', events: parseTrace(text) },
    ],
    [{ protocol: 'tcp', localPort: 21000 }],
    () => undefined,
    'pod',
  );
  const node = hops.find((h) => h.place === 'node2')!;
  t.same(node.rules.map((r) => r.rule), ['meta l4proto tcp dnat to 10.244.0.2:8080', 'ct state invalid drop comment "never reject a thing"'], 'the DNAT of the probe kept, the other packet\'s rule left out');
  t.match(node, { in: 'cbr0', out: 'flannel.1', packetOut: { daddr: '10.244.0.2', dport: 8080 } });
  t.equal(node.dropped, undefined, 'a comment that says reject is no REJECT');
});
