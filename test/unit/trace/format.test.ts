/**
 * The text `trace` prints (formatTrace), from recorded traces of the
 * default lab (test/fixtures/trace/<case>/, as hops.test.ts reads them) and
 * from small hand-made results: per probe its header and the command sent,
 * one line per hop in the order the packet went, numbered, the reply in
 * short, the connection headers where nginx makes a second connection, the
 * DNS lookup before the probe it resolves for, and the verdict last.
 */
import t, { type Test } from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { parseTrace } from '../../../dist/trace/events.js';
import { assembleHops, verdictOf, type Hop, type NamespaceTrace, type ProbeResult, type RuleLookup } from '../../../dist/trace/hops.js';
import { formatTrace, type TraceResult } from '../../../dist/trace/index.js';
import type { TracedProbe } from '../../../dist/trace/run.js';
import type { TracedFlow } from '../../../dist/trace/table.js';
import type { TraceDestination, TraceSource } from '../../../dist/trace/targets.js';

const dir = (name: string) => new URL(`../../fixtures/trace/${name}/`, import.meta.url);

interface Recorded {
  source: string;
  flows: TracedFlow[];
  places: Record<string, string>;
  result: ProbeResult;
}

/** A recorded trace as `traceProbe` returned it, with the source and destination its printed header names. */
function recorded(name: string, src: TraceSource, dst: Omit<TraceDestination, 'candidates' | 'targets'>, lookup: RuleLookup = () => undefined): { probe: TracedProbe; expected: string[] } {
  const rec = JSON.parse(readFileSync(new URL('probe.json', dir(name)), 'utf8')) as Recorded;
  const traces: NamespaceTrace[] = readdirSync(dir(name))
    .filter((f) => f.endsWith('.trace'))
    .map((f) => {
      const netns = f.replace(/\.trace$/, '');
      return { netns, place: rec.places[netns] ?? netns, events: parseTrace(readFileSync(new URL(f, dir(name)), 'utf8')) };
    });
  const hops = assembleHops(traces, rec.flows, lookup, rec.source);
  const expected = readFileSync(new URL('expected.txt', dir(name)), 'utf8').replace(/\n$/, '').split('\n');
  const command = expected.find((l) => l.startsWith('    probe: '))!.slice('    probe: '.length);
  return {
    probe: { src, dst: { ...dst, candidates: [], targets: rec.flows[0]!.targets ?? [] }, probe: command, localPort: rec.flows[0]!.localPort!, flows: rec.flows, hops, result: rec.result, verdict: verdictOf(hops, rec.result) },
    expected,
  };
}

const toolbox: TraceSource = { kind: 'pod', label: 'default/toolbox', netns: 'demo.pod.default.toolbox', ip: '10.244.1.4' };
const external: TraceSource = { kind: 'external', label: 'external', netns: 'demo.ext.external', ip: '203.0.113.10' };

/** What formatTrace prints besides the rules and lookups of each hop (a recorded trace here has no rule texts nor route reads). */
const outline = (lines: string[]) => lines.filter((l) => /^(trace |    probe: | ?\d+ {2}|    reply: |verdict: )/.test(l));
const hopNumbers = (lines: string[]) => lines.filter((l) => /^ ?\d+ {2}/.test(l)).map((l) => Number(l.trim().split(' ')[0]));
const lines = (t: Test, text: string) => {
  t.ok(text.endsWith('\n') && !text.endsWith('\n\n'), 'one newline at the end');
  return text.slice(0, -1).split('\n');
};

t.test('pod to a service: the header, one line per hop in the order it went, the reply, the verdict last', async (t) => {
  const { probe, expected } = recorded('pod-to-service', toolbox, { kind: 'service', label: 'service default/web (10.96.0.11:80/TCP)', ip: '10.96.0.11', port: 80, protocol: 'tcp' });
  const r: TraceResult = { lab: 'demo', probes: [probe], verdict: probe.verdict };
  const out = lines(t, formatTrace(r));
  t.same(outline(out), outline(expected), 'as trace printed it in the lab');
  t.same(
    out.filter((l) => /^ ?\d+ {2}/.test(l)).map((l) => l.trim().split('  ')[1]),
    ['pod default/toolbox', 'node2', 'node1', 'pod default/web-htkzz'],
    'one hop per line, sender first, the pod that answered last',
  );
  t.same(hopNumbers(out), [1, 2, 3, 4]);
  t.notOk(out.some((l) => /connection \d/.test(l)), 'one connection: no connection headers');
  t.equal(out.at(-1), 'verdict: delivered to pod default/web-htkzz; it answered: HTTP 200 from default/web-htkzz, which saw the client as 10.244.1.4');
  t.equal(out.filter((l) => l.startsWith('verdict:')).length, 1);
});

t.test('external client through the load balancer: seven hops, the internet bridge twice', async (t) => {
  const { probe, expected } = recorded('external-to-lb', external, { kind: 'load-balancer', label: 'load-balancer IP 203.0.113.192:80 of shop/storefront', ip: '203.0.113.192', port: 80, protocol: 'tcp' });
  const out = lines(t, formatTrace({ lab: 'demo', probes: [probe], verdict: probe.verdict }));
  t.same(outline(out), outline(expected));
  t.same(hopNumbers(out), [1, 2, 3, 4, 5, 6, 7]);
  t.match(out.at(-1), /^verdict: delivered to pod shop\/storefront-d8p6w;/);
});

t.test('a NetworkPolicy drop: the drop under the hop where it happened, the verdict after it and last', async (t) => {
  // The drop rule as the ruleset read gave it in the lab (rulesets.ts): the kernel's trace event says only `drop`.
  const comment = 'shop/api-jwvc5 is isolated for ingress by shop/shop-ingress; no rule allows it';
  const lookup: RuleLookup = (netns, e) =>
    netns === 'demo.node.node1' && e.chain === 'NETPOL-POD-ING-EDMPBGGW4OVT' && e.handle === 63 ? { rule: `-A NETPOL-POD-ING-EDMPBGGW4OVT -m comment --comment "${comment}" -j DROP`, comment } : undefined;
  const { probe, expected } = recorded('policy-drop', toolbox, { kind: 'service', label: 'service shop/api (10.96.0.12:80/TCP)', ip: '10.96.0.12', port: 80, protocol: 'tcp' }, lookup);
  const out = lines(t, formatTrace({ lab: 'demo', probes: [probe], verdict: probe.verdict }));
  t.same(outline(out), outline(expected));
  t.notOk(out.some((l) => l.startsWith('    reply:')), 'nothing came back: no reply line');
  const node1 = out.findIndex((l) => /^ 3 {2}node1 /.test(l));
  const drop = out.findIndex((l) => l.startsWith('      ✗ dropped: '));
  t.ok(node1 > 0 && drop > node1, 'the drop is printed under node1');
  t.equal(out[drop], expected.find((l) => l.startsWith('      ✗ dropped: ')));
  t.equal(out[drop - 1], expected.find((l) => l.includes('-j DROP')), 'after the rule that dropped it');
  t.equal(out.length - 2, drop, 'then only the verdict');
  t.equal(out.at(-1), expected.at(-1));
  t.match(out.at(-1), /^verdict: dropped at node1 by ip filter NETPOL-POD-ING-\w+: "shop\/api-jwvc5 is isolated for ingress/);
});

/** A hop as assembleHops makes it, from what the line shows. */
function hop(leg: number, direction: 'forward' | 'reply', place: string, via: { in?: string; out?: string; local?: boolean }, from: string, to: string, dnatTo?: string): Hop {
  const ep = (s: string) => {
    const [ip, port] = s.split(':');
    return { ip, port: Number(port) };
  };
  const f = ep(from);
  const d = ep(to);
  const n = ep(dnatTo ?? to);
  return {
    leg,
    direction,
    netns: `demo.${place.replace(/^pod /, 'pod.').replace('/', '.')}`,
    place,
    ...(via.in ? { in: via.in } : {}),
    ...(via.out ? { out: via.out } : {}),
    packetIn: { saddr: f.ip, sport: f.port, daddr: d.ip, dport: d.port, protocol: 'tcp' },
    packetOut: { saddr: f.ip, sport: f.port, daddr: n.ip, dport: n.port, protocol: 'tcp' },
    rules: [],
    local: via.local === true,
    observed: true,
    objects: [],
  };
}

t.test('through ingress-nginx: two connections, each with its header, hops numbered on across them, a reply per connection', async (t) => {
  const nginx = 'pod ingress-nginx/ingress-nginx-controller-x';
  const hops: Hop[] = [
    hop(1, 'forward', 'external', { out: 'eth0' }, '203.0.113.10:30000', '203.0.113.193:443'),
    hop(1, 'forward', 'lb', { in: 'eth0', out: 'eth0' }, '203.0.113.10:30000', '203.0.113.193:443', '192.168.56.11:30443'),
    hop(1, 'forward', 'node1', { in: 'eth0', out: 'cbr0' }, '203.0.113.10:30000', '192.168.56.11:30443', '10.244.0.4:443'),
    hop(1, 'forward', nginx, { in: 'eth0', local: true }, '203.0.113.10:30000', '10.244.0.4:443'),
    hop(1, 'reply', nginx, { out: 'eth0' }, '10.244.0.4:443', '203.0.113.10:30000'),
    hop(1, 'reply', 'external', { in: 'eth0', local: true }, '203.0.113.193:443', '203.0.113.10:30000'),
    hop(2, 'forward', nginx, { out: 'eth0' }, '10.244.0.4:41000', '10.244.1.2:8080'),
    hop(2, 'forward', 'node1', { in: 'cbr0', out: 'flannel.1' }, '10.244.0.4:41000', '10.244.1.2:8080'),
    hop(2, 'forward', 'pod default/web-y', { in: 'eth0', local: true }, '10.244.0.4:41000', '10.244.1.2:8080'),
    hop(2, 'reply', 'pod default/web-y', { out: 'eth0' }, '10.244.1.2:8080', '10.244.0.4:41000'),
    hop(2, 'reply', nginx, { in: 'eth0', local: true }, '10.244.1.2:8080', '10.244.0.4:41000'),
  ];
  const result = { answer: 'HTTP 200 from default/web-y', refused: false };
  const probe: TracedProbe = {
    src: external,
    dst: { kind: 'ingress', label: 'https://www.example.com/ through ingress-nginx (203.0.113.193:443)', ip: '203.0.113.193', port: 443, protocol: 'tcp', http: { url: 'https://www.example.com/', host: 'www.example.com' }, candidates: [], targets: [] },
    probe: 'curl https://www.example.com/',
    localPort: 30000,
    flows: [
      { protocol: 'tcp', localPort: 30000 },
      { protocol: 'tcp', from: { ip: '10.244.0.4', ports: [8080] } },
    ],
    hops,
    result,
    verdict: verdictOf(hops, result),
  };
  t.equal(
    formatTrace({ lab: 'demo', probes: [probe], verdict: probe.verdict }),
    [
      'trace external (203.0.113.10) → https://www.example.com/ through ingress-nginx (203.0.113.193:443), tcp from local port 30000',
      '    probe: curl https://www.example.com/',
      '  connection 1: client → ingress-nginx',
      ' 1  external  sent, out eth0  203.0.113.10:30000 → 203.0.113.193:443  [observed]',
      ' 2  lb  in eth0, out eth0  203.0.113.10:30000 → 203.0.113.193:443, DNAT to 192.168.56.11:30443  [observed]',
      ' 3  node1  in eth0, out cbr0  203.0.113.10:30000 → 192.168.56.11:30443, DNAT to 10.244.0.4:443  [observed]',
      ` 4  ${nginx}  in eth0, to a local socket  203.0.113.10:30000 → 10.244.0.4:443  [observed]`,
      '  connection 2: ingress-nginx (10.244.0.4) → backend',
      ` 5  ${nginx}  sent, out eth0  10.244.0.4:41000 → 10.244.1.2:8080  [observed]`,
      ' 6  node1  in cbr0, out flannel.1  10.244.0.4:41000 → 10.244.1.2:8080  [observed]',
      ' 7  pod default/web-y  in eth0, to a local socket  10.244.0.4:41000 → 10.244.1.2:8080  [observed]',
      `    connection 1 reply: ${nginx} → external; conntrack rewrote its source 10.244.0.4:443 back to 203.0.113.193:443`,
      `    connection 2 reply: pod default/web-y → ${nginx}`,
      'verdict: delivered to pod default/web-y; it answered: HTTP 200 from default/web-y',
      '',
    ].join('\n'),
  );
});

t.test('a DNS name: the lookup first with its answer, then the probe to the address, one verdict at the end', async (t) => {
  const { probe: main } = recorded('pod-to-service', toolbox, { kind: 'service', label: 'web.default (10.96.0.11)', ip: '10.96.0.11', port: 80, protocol: 'tcp' });
  const lookupHops = [
    hop(1, 'forward', 'pod default/toolbox', { out: 'eth0' }, '10.244.1.4:20000', '10.96.0.10:53', undefined),
    hop(1, 'forward', 'node2', { in: 'cbr0', out: 'cbr0' }, '10.244.1.4:20000', '10.96.0.10:53', '10.244.1.3:53'),
    hop(1, 'forward', 'pod kube-system/coredns-z', { in: 'eth0', local: true }, '10.244.1.4:20000', '10.244.1.3:53'),
  ];
  const answered = { answer: 'NOERROR 10.96.0.11', refused: false };
  const lookup: TracedProbe = {
    src: toolbox,
    dst: { kind: 'dns', label: 'web.default', ip: '', port: 80, protocol: 'tcp', dnsName: 'web.default', candidates: [], targets: [] },
    probe: 'dig +search web.default A',
    localPort: 20000,
    flows: [{ protocol: 'udp', localPort: 20000 }],
    hops: lookupHops,
    result: answered,
    verdict: verdictOf(lookupHops, answered),
    resolved: '10.96.0.11',
  };
  const out = lines(t, formatTrace({ lab: 'demo', probes: [lookup, main], verdict: main.verdict }));
  t.same(out.slice(0, 7), [
    'trace default/toolbox (10.244.1.4) → DNS lookup of web.default, udp from local port 20000',
    '    probe: dig +search web.default A',
    ' 1  pod default/toolbox  sent, out eth0  10.244.1.4:20000 → 10.96.0.10:53  [observed]',
    ' 2  node2  in cbr0, out cbr0  10.244.1.4:20000 → 10.96.0.10:53, DNAT to 10.244.1.3:53  [observed]',
    ' 3  pod kube-system/coredns-z  in eth0, to a local socket  10.244.1.4:20000 → 10.244.1.3:53  [observed]',
    '    → NOERROR 10.96.0.11',
    '',
  ]);
  t.equal(out[7], 'trace default/toolbox (10.244.1.4) → web.default (10.96.0.11), tcp from local port 20665');
  t.same(hopNumbers(out.slice(7)), [1, 2, 3, 4], 'the probe\'s hops are numbered from 1 again');
  t.equal(out.at(-1), `verdict: ${main.verdict.line}`, 'the probe\'s verdict, last');
  t.equal(out.filter((l) => l.startsWith('verdict:')).length, 1, 'one verdict for the lookup and the probe');
});

t.test('a name that did not resolve: the lookup alone, the verdict says so', async (t) => {
  const hops = [hop(1, 'forward', 'pod default/toolbox', { out: 'eth0' }, '10.244.1.4:20001', '10.96.0.10:53')];
  const result = { answer: 'NXDOMAIN, no address', refused: false };
  const lookup: TracedProbe = {
    src: toolbox,
    dst: { kind: 'dns', label: 'nope.example', ip: '', port: 80, protocol: 'tcp', dnsName: 'nope.example', candidates: [], targets: [] },
    probe: 'dig +search nope.example A',
    localPort: 20001,
    flows: [{ protocol: 'udp', localPort: 20001 }],
    hops,
    result,
    verdict: verdictOf(hops, result),
  };
  const out = lines(t, formatTrace({ lab: 'demo', probes: [lookup], verdict: { outcome: 'refused', line: 'the name nope.example did not resolve (NXDOMAIN, no address)' } }));
  t.same(out, [
    'trace default/toolbox (10.244.1.4) → DNS lookup of nope.example, udp from local port 20001',
    '    probe: dig +search nope.example A',
    ' 1  pod default/toolbox  sent, out eth0  10.244.1.4:20001 → 10.96.0.10:53  [observed]',
    'verdict: the name nope.example did not resolve (NXDOMAIN, no address)',
  ]);
});
