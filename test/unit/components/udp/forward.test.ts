import t, { type Test } from 'tap';
import {
  describePeerChanges,
  Forwarder,
  forwardingConfig,
  RouteTable,
  type OverlayPlan,
  type TunVerdict,
} from '../../../../dist/components/udp/forward.js';
import { ipToInt } from '../../../../dist/util/addresses.js';
import { headerChecksumValid, icmp, ipv4, referenceChecksum, udp } from './fixtures/packets.js';

const node = (i: number) => ({ name: `node${i}`, netns: `lab.node${i}`, ip: `192.168.56.${10 + i}`, podCIDR: `10.244.${i}.0/24`, podMtu: 1472 });
const spec = { podNetwork: { udp: { port: 8285 } } };
const plan: OverlayPlan = { spec, nodes: [node(1), node(2), node(3)] };

/** Everything but TTL and header checksum must be carried unchanged. */
function sameExceptTtl(t: Test, out: Buffer, input: Buffer, what: string): void {
  t.equal(out.length, input.length, `${what}: same length`);
  t.equal(out[8], input[8]! - 1, `${what}: TTL one lower`);
  t.ok(headerChecksumValid(out), `${what}: header checksum verifies`);
  const a = Buffer.from(out);
  const b = Buffer.from(input);
  for (const x of [a, b]) {
    x[8] = 0;
    x.writeUInt16BE(0, 10);
  }
  t.ok(a.equals(b), `${what}: every other byte unchanged`);
}

t.test('the configuration of one node from the plan', async (t) => {
  const config = forwardingConfig(plan, 'node2');
  t.same(config, {
    node: 'node2',
    netns: 'lab.node2',
    listen: { ip: '192.168.56.12', port: 8285 },
    podCIDR: '10.244.2.0/24',
    tunAddress: '10.244.2.0',
    peers: [
      { node: 'node1', subnet: '10.244.1.0/24', endpoint: { ip: '192.168.56.11', port: 8285 } },
      { node: 'node3', subnet: '10.244.3.0/24', endpoint: { ip: '192.168.56.13', port: 8285 } },
    ],
    mtu: 1472,
  });
  t.equal(forwardingConfig({ spec, nodes: [{ ...node(1), podMtu: 1400 }] }, 'node1').mtu, 1400, 'flannel0 MTU from the plan');
  t.equal(forwardingConfig({ spec: { podNetwork: { udp: { port: 9999 } } }, nodes: [node(1), node(2)] }, 'node1').peers[0]!.endpoint.port, 9999);
  t.same(forwardingConfig({ spec, nodes: [node(1)] }, 'node1').peers, [], 'a single node has no peers');
});

t.test('a plan that cannot drive the overlay says what to fix', async (t) => {
  t.throws(() => forwardingConfig(plan, 'node9'), /node node9: no node of that name \(nodes: node1, node2, node3\)/);
  t.throws(() => forwardingConfig({ spec, nodes: [{ ...node(1), netns: '' }] }, 'node1'), /the node has no `netns`/);
  t.throws(() => forwardingConfig({ ...plan, spec: { podNetwork: { udp: { port: 70000 } } } }, 'node1'), /spec\.podNetwork\.udp\.port is 70000/);
  t.throws(() => forwardingConfig({ spec, nodes: [node(1), { ...node(2), ip: '192.168.56' }] }, 'node1'), /node node2: '192\.168\.56' is not an IPv4 address/);
  t.throws(() => forwardingConfig({ spec, nodes: [node(1), { ...node(2), podCIDR: '10.244.2.1/24' }] }, 'node1'), /node node2: .*host bits set/);
  t.throws(() => forwardingConfig({ spec, nodes: [node(1), { ...node(2), podCIDR: '10.244.1.0/24' }] }, 'node1'), /nodes node1 and node2 both have pod CIDR 10\.244\.1\.0\/24/);
});

t.test('route lookup: longest prefix wins, nothing outside', async (t) => {
  const peer = (n: string, subnet: string) => ({ node: n, subnet, endpoint: { ip: n, port: 1 } });
  const table = new RouteTable([peer('a', '10.244.1.0/24'), peer('b', '10.244.0.0/16'), peer('c', '10.244.1.128/25'), peer('d', '10.245.7.0/24')]);
  const at = (ip: string) => table.lookup(ipToInt(ip))?.node;
  t.equal(at('10.244.1.0'), 'a');
  t.equal(at('10.244.1.127'), 'a');
  t.equal(at('10.244.1.128'), 'c');
  t.equal(at('10.244.1.255'), 'c');
  t.equal(at('10.244.2.9'), 'b');
  t.equal(at('10.245.7.255'), 'd');
  t.equal(at('10.245.8.0'), undefined);
  t.equal(at('255.255.255.255'), undefined);
  t.equal(new RouteTable([]).lookup(ipToInt('10.244.1.1')), undefined);
});

t.test('from the TUN: each peer /24 goes to its node, the packet whole', async (t) => {
  const f = new Forwarder(forwardingConfig(plan, 'node1'));
  const cases: Array<[string, string]> = [
    ['10.244.2.2', '192.168.56.12'],
    ['10.244.2.255', '192.168.56.12'],
    ['10.244.3.77', '192.168.56.13'],
  ];
  for (const [dst, nodeIP] of cases) {
    const packet = ipv4({ src: '10.244.1.2', dst, ttl: 63, protocol: 17, payload: udp(40000, 53, Buffer.from('query')) });
    const before = Buffer.from(packet);
    const v = f.fromTun(packet);
    if (v.action !== 'send') {
      t.fail(`${dst}: ${JSON.stringify(v)}`);
      continue;
    }
    t.same(v.to, { ip: nodeIP, port: 8285 }, `${dst} -> ${nodeIP}`);
    sameExceptTtl(t, v.payload, packet, dst);
    t.same(packet, before, 'the input buffer is not modified');
    v.payload[20] = 0xee;
    t.equal(packet[20], before[20], 'the payload is a copy');
  }
});

t.test('from the TUN: bytes past the IP total length are not carried', async (t) => {
  const f = new Forwarder(forwardingConfig(plan, 'node1'));
  const packet = ipv4({ src: '10.244.1.2', dst: '10.244.2.2', payload: Buffer.from('abcd') });
  const v = f.fromTun(Buffer.concat([packet, Buffer.from('junk')]));
  t.equal(v.action, 'send');
  if (v.action === 'send') sameExceptTtl(t, v.payload, packet, 'trimmed');
});

t.test('from the TUN: a TTL of 1 is dropped, 2 goes out as 1', async (t) => {
  const f = new Forwarder(forwardingConfig(plan, 'node1'));
  t.same(f.fromTun(ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 1 })), { action: 'drop', reason: 'ttl-expired' });
  t.same(f.fromTun(ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 0 })), { action: 'drop', reason: 'ttl-expired' });
  const v = f.fromTun(ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 2 }));
  t.equal(v.action === 'send' && v.payload[8], 1);
});

interface ParsedUnreachable {
  version: number;
  ihl: number;
  tos: number;
  totalLength: number;
  flagsFragment: number;
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
  ipChecksumOk: boolean;
  type: number;
  code: number;
  unused: number;
  icmpChecksumOk: boolean;
  quoted: Buffer;
}

function parseReply(packet: Buffer): ParsedUnreachable {
  const ip = (o: number) => [...packet.subarray(o, o + 4)].join('.');
  return {
    version: packet[0]! >> 4,
    ihl: packet[0]! & 0x0f,
    tos: packet[1]!,
    totalLength: packet.readUInt16BE(2),
    flagsFragment: packet.readUInt16BE(6),
    ttl: packet[8]!,
    protocol: packet[9]!,
    src: ip(12),
    dst: ip(16),
    ipChecksumOk: referenceChecksum(packet, 0, 20) === 0,
    type: packet[20]!,
    code: packet[21]!,
    unused: packet.readUInt32BE(24),
    icmpChecksumOk: referenceChecksum(packet, 20) === 0,
    quoted: packet.subarray(28),
  };
}

function expectReply(t: Test, v: TunVerdict, offender: Buffer, quotedLength: number, what: string): void {
  t.equal(v.action, 'reply', `${what}: answered`);
  if (v.action !== 'reply') return;
  t.equal(v.reason, 'no-route');
  const r = parseReply(v.packet);
  t.equal(r.version, 4, `${what}: IPv4`);
  t.equal(r.ihl, 5, `${what}: no options`);
  t.equal(r.tos, 0xc0, `${what}: internetwork control precedence`);
  t.equal(r.totalLength, v.packet.length, `${what}: total length is the packet length`);
  t.equal(r.totalLength, 20 + 8 + quotedLength);
  t.equal(r.flagsFragment, 0, `${what}: not fragmented`);
  t.equal(r.ttl, 8, `${what}: TTL`);
  t.equal(r.protocol, 1, `${what}: ICMP`);
  t.equal(r.src, '10.244.1.0', `${what}: from this node's flannel0 address`);
  t.equal(r.dst, [...offender.subarray(12, 16)].join('.'), `${what}: to the offender's source`);
  t.ok(r.ipChecksumOk, `${what}: IP checksum verifies`);
  t.equal(r.type, 3, `${what}: destination unreachable`);
  t.equal(r.code, 0, `${what}: net unreachable`);
  t.equal(r.unused, 0, `${what}: unused field zero`);
  t.ok(r.icmpChecksumOk, `${what}: ICMP checksum verifies`);
  t.same(r.quoted, offender.subarray(0, quotedLength), `${what}: quotes the original header and 8 payload bytes`);
}

t.test('from the TUN: a destination no node owns gets ICMP net unreachable into the TUN', async (t) => {
  const f = new Forwarder(forwardingConfig(plan, 'node1'));
  const echo = ipv4({ src: '10.244.1.2', dst: '10.244.99.1', protocol: 1, ttl: 63, payload: icmp(8, 0, [0x12, 0x34, 0, 1], Buffer.alloc(56, 0xab)) });
  expectReply(t, f.fromTun(echo), echo, 28, 'echo request');

  const tcp = ipv4({ src: '10.244.1.3', dst: '10.245.0.1', protocol: 6, dontFragment: true, payload: Buffer.alloc(40, 7) });
  expectReply(t, f.fromTun(tcp), tcp, 28, 'TCP outside the pod CIDR');

  const withOptions = ipv4({ src: '10.244.1.2', dst: '10.244.99.1', options: [0x94, 0x04, 0, 0], payload: udp(1, 2, Buffer.alloc(20)) });
  expectReply(t, f.fromTun(withOptions), withOptions, 32, 'with IP options');

  const firstFragment = ipv4({ src: '10.244.1.2', dst: '10.244.99.1', moreFragments: true, payload: Buffer.alloc(64) });
  expectReply(t, f.fromTun(firstFragment), firstFragment, 28, 'first fragment');

  const own = ipv4({ src: '10.244.1.2', dst: '10.244.1.9', payload: Buffer.alloc(8) });
  expectReply(t, f.fromTun(own), own, 28, 'our own /24 is not a peer');
});

t.test('from the TUN: no ICMP about an ICMP error or a non-first fragment', async (t) => {
  const f = new Forwarder(forwardingConfig(plan, 'node1'));
  const inner = ipv4({ src: '10.244.99.1', dst: '10.244.1.2', payload: udp(1, 2, Buffer.alloc(0)) });
  for (const [type, name] of [[3, 'destination unreachable'], [11, 'time exceeded'], [12, 'parameter problem']] as const) {
    const error = ipv4({ src: '10.244.1.2', dst: '10.244.99.1', protocol: 1, payload: icmp(type, 0, [0, 0, 0, 0], inner.subarray(0, 28)) });
    const v = f.fromTun(error);
    t.match(v, { action: 'drop', reason: 'no-route', detail: 'no ICMP error about an ICMP error' }, name);
  }
  const fragment = ipv4({ src: '10.244.1.2', dst: '10.244.99.1', fragmentOffset: 185, payload: Buffer.alloc(100) });
  t.match(f.fromTun(fragment), { action: 'drop', reason: 'no-route', detail: 'no ICMP error about a non-first fragment' });
  const multicast = ipv4({ src: '10.244.1.2', dst: '239.0.0.1', payload: Buffer.alloc(8) });
  t.match(f.fromTun(multicast), { action: 'drop', reason: 'no-route' });
});

t.test('from the TUN: malformed and non-IPv4 packets are dropped', async (t) => {
  const f = new Forwarder(forwardingConfig(plan, 'node1'));
  const v6 = Buffer.alloc(48);
  v6[0] = 0x60;
  t.same(f.fromTun(v6), { action: 'drop', reason: 'not-ipv4' });
  t.same(f.fromTun(Buffer.alloc(0)), { action: 'drop', reason: 'malformed' });
  t.same(f.fromTun(Buffer.from([0x45, 0, 0])), { action: 'drop', reason: 'malformed' });
  const lying = ipv4({ src: '10.244.1.2', dst: '10.244.2.2', payload: Buffer.alloc(10) });
  lying.writeUInt16BE(1500, 2);
  t.same(f.fromTun(lying), { action: 'drop', reason: 'malformed' });
});

t.test('from UDP: the packet goes into the TUN with its TTL one lower', async (t) => {
  const f = new Forwarder(forwardingConfig(plan, 'node2'));
  const packet = ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 62, protocol: 6, payload: Buffer.alloc(1400, 0x5a) });
  const before = Buffer.from(packet);
  const v = f.fromUdp(packet);
  t.equal(v.action, 'write');
  if (v.action === 'write') sameExceptTtl(t, v.packet, packet, 'from udp');
  t.same(packet, before, 'the datagram buffer is not modified');
  t.same(f.fromUdp(ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 1 })), { action: 'drop', reason: 'ttl-expired' });
  const v6 = Buffer.alloc(40);
  v6[0] = 0x60;
  t.same(f.fromUdp(v6), { action: 'drop', reason: 'not-ipv4' });
  t.same(f.fromUdp(Buffer.from('hello')), { action: 'drop', reason: 'not-ipv4' });
  t.same(f.fromUdp(packet.subarray(0, 30)), { action: 'drop', reason: 'malformed' });
  const padded = f.fromUdp(Buffer.concat([packet, Buffer.alloc(3)]));
  t.equal(padded.action === 'write' && padded.packet.length, packet.length, 'trailing bytes are not written');
});

t.test('from UDP: written whatever the destination, as flannel does', async (t) => {
  // The kernel routes what comes out of the TUN; the proxy does not filter.
  const f = new Forwarder(forwardingConfig(plan, 'node2'));
  t.equal(f.fromUdp(ipv4({ src: '10.244.1.2', dst: '10.244.3.2' })).action, 'write');
});

t.test('peer changes for the reload log', async (t) => {
  const before = forwardingConfig(plan, 'node1').peers;
  const after = forwardingConfig({ spec, nodes: [node(1), node(3), node(4)] }, 'node1').peers;
  t.same(describePeerChanges(before, after), [
    '- node2 10.244.2.0/24 via 192.168.56.12:8285',
    '+ node4 10.244.4.0/24 via 192.168.56.14:8285',
  ]);
  t.same(describePeerChanges(before, before), []);
});
