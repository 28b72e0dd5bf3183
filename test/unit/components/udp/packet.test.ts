import t from 'tap';
import {
  decrementTtl,
  destinationUnreachable,
  internetChecksum,
  ipv4Problem,
  noIcmpErrorAbout,
} from '../../../../dist/components/udp/packet.js';
import { intToIp, ipToInt, parseCidr } from '../../../../dist/util/addresses.js';
import { headerChecksumValid, icmp, ipv4, prng, referenceChecksum, udp } from './fixtures/packets.js';

t.test('addresses and CIDRs as unsigned integers', async (t) => {
  t.equal(ipToInt('10.244.1.2'), 0x0af40102);
  t.equal(ipToInt('255.255.255.255'), 0xffffffff, 'stays positive');
  t.equal(intToIp(0xc0a84d0b), '192.168.77.11');
  t.equal(intToIp(ipToInt('0.0.0.0')), '0.0.0.0');
  for (const bad of ['10.244.1', '10.244.1.256', '10.244.1.-1', 'a.b.c.d', '1.2.3.4.5', '']) {
    t.throws(() => ipToInt(bad), RangeError, `'${bad}'`);
  }
  t.same(parseCidr('10.244.1.0/24'), { network: 0x0af40100, prefix: 24, mask: 0xffffff00 });
  t.same(parseCidr('0.0.0.0/0'), { network: 0, prefix: 0, mask: 0 });
  t.same(parseCidr('10.0.0.1/32'), { network: 0x0a000001, prefix: 32, mask: 0xffffffff });
  t.throws(() => parseCidr('10.244.1.1/24'), /host bits set; the network is 10\.244\.1\.0\/24/);
  t.throws(() => parseCidr('10.244.1.0/33'), /not an IPv4 CIDR/);
  t.throws(() => parseCidr('10.244.1.0'), /not an IPv4 CIDR/);
});

t.test('the Internet checksum of a known header', async (t) => {
  // The classic example header, checksum field zeroed: its checksum is 0xb861.
  const header = Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex');
  t.equal(internetChecksum(header), 0xb861);
  header.writeUInt16BE(0xb861, 10);
  t.equal(internetChecksum(header), 0, 'a header with its checksum in place sums to zero');
  t.equal(internetChecksum(Buffer.from([0x01])), 0xfeff, 'an odd byte is padded with zero');
});

t.test('TTL decrement keeps the header checksum valid', async (t) => {
  const random = prng(1624);
  const failures: string[] = [];
  const runs = 5000;
  for (let i = 0; i < runs; i++) {
    const packet = ipv4({
      src: `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
      dst: `10.244.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
      ttl: 2 + Math.floor(random() * 254),
      protocol: Math.floor(random() * 256),
      id: Math.floor(random() * 65536),
      tos: Math.floor(random() * 256),
      options: random() < 0.2 ? [1, 1, 1, 1] : [],
      payload: Buffer.alloc(Math.floor(random() * 64)),
    });
    const before = Buffer.from(packet);
    const what = before.subarray(0, 20).toString('hex');
    if (!decrementTtl(packet)) failures.push(`${what}: refused`);
    if (packet[8] !== before[8]! - 1) failures.push(`${what}: ttl ${before[8]} became ${packet[8]}`);
    // Recomputed from scratch with the checksum field zeroed, it must match.
    const scratch = Buffer.from(packet);
    scratch.writeUInt16BE(0, 10);
    const expected = referenceChecksum(scratch, 0, (scratch[0]! & 0x0f) * 4);
    if (packet.readUInt16BE(10) !== expected) failures.push(`${what}: checksum ${packet.readUInt16BE(10).toString(16)}, recomputed ${expected.toString(16)}`);
    if (!packet.subarray(12).equals(before.subarray(12)) || !packet.subarray(0, 8).equals(before.subarray(0, 8))) {
      failures.push(`${what}: bytes other than TTL and checksum changed`);
    }
  }
  t.same(failures, [], `${runs} random headers`);
});

t.test('TTL decrement where the checksum wraps around', async (t) => {
  // Look for headers whose checksum sits at the edges of the 16-bit range,
  // where a naive "add 0x100" patch gets the carry or the -0 wrong.
  const edges = new Map<string, Buffer>();
  for (let id = 0; id < 65536 && edges.size < 3; id++) {
    const packet = ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 64, protocol: 6, id });
    const c = packet.readUInt16BE(10);
    if (c === 0x0000) edges.set('0x0000', packet);
    else if (c === 0xffff) edges.set('0xffff', packet);
    else if (c >= 0xfeff) edges.set('0xfeff..0xfffe', packet);
  }
  t.ok(edges.size >= 2, `found edge cases: ${[...edges.keys()].join(', ')}`);
  for (const [name, packet] of edges) {
    t.ok(decrementTtl(packet), name);
    t.ok(headerChecksumValid(packet), `${name}: checksum still verifies`);
    const zeroed = Buffer.from(packet);
    zeroed.writeUInt16BE(0, 10);
    t.equal(packet.readUInt16BE(10), referenceChecksum(zeroed, 0, 20), `${name}: equals the recomputed checksum`);
  }
});

t.test('a TTL that would reach 0 is not decremented', async (t) => {
  for (const ttl of [1, 0]) {
    const packet = ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl });
    const before = Buffer.from(packet);
    t.equal(decrementTtl(packet), false, `ttl ${ttl}`);
    t.same(packet, before, 'left untouched');
  }
  const two = ipv4({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 2 });
  t.ok(decrementTtl(two));
  t.equal(two[8], 1);
});

t.test('header checks', async (t) => {
  const good = ipv4({ src: '10.244.1.2', dst: '10.244.2.2', payload: udp(1, 2, Buffer.from('hi')) });
  t.equal(ipv4Problem(good), undefined);
  t.equal(ipv4Problem(Buffer.concat([good, Buffer.from([0, 0])])), undefined, 'trailing bytes past the total length are allowed');
  t.equal(ipv4Problem(Buffer.alloc(0)), 'malformed', 'empty');
  const v6 = Buffer.alloc(40);
  v6[0] = 0x60;
  t.equal(ipv4Problem(v6), 'not-ipv4');
  t.equal(ipv4Problem(good.subarray(0, 19)), 'malformed', 'shorter than a header');
  const shortIhl = Buffer.from(good);
  shortIhl[0] = 0x44;
  t.equal(ipv4Problem(shortIhl), 'malformed', 'IHL below 5');
  const longIhl = Buffer.from(good);
  longIhl[0] = 0x4f;
  t.equal(ipv4Problem(longIhl), 'malformed', 'IHL past the end of the packet');
  const truncated = good.subarray(0, good.length - 1);
  t.equal(ipv4Problem(truncated), 'malformed', 'total length past the end');
  const tiny = Buffer.from(good);
  tiny.writeUInt16BE(19, 2);
  t.equal(ipv4Problem(tiny), 'malformed', 'total length below the header length');
});

t.test('when no ICMP error may be sent', async (t) => {
  const about = (f: Parameters<typeof ipv4>[0]) => noIcmpErrorAbout(ipv4(f));
  const base = { src: '10.244.1.2', dst: '10.244.99.1' };
  t.equal(about({ ...base, protocol: 17, payload: udp(1, 2, Buffer.alloc(8)) }), undefined, 'UDP');
  t.equal(about({ ...base, protocol: 1, payload: icmp(8, 0, [0, 1, 0, 1]) }), undefined, 'echo request');
  t.equal(about({ ...base, protocol: 1, payload: icmp(0, 0) }), undefined, 'echo reply');
  for (const type of [3, 4, 5, 11, 12]) t.equal(about({ ...base, protocol: 1, payload: icmp(type, 0) }), 'an ICMP error', `ICMP type ${type}`);
  t.equal(about({ ...base, protocol: 1, payload: icmp(42, 0) }), 'an ICMP error', 'an unknown ICMP type');
  t.equal(about({ ...base, protocol: 1 }), 'an ICMP packet with no ICMP header');
  t.equal(about({ ...base, fragmentOffset: 185, payload: Buffer.alloc(16) }), 'a non-first fragment');
  t.equal(about({ ...base, moreFragments: true, payload: Buffer.alloc(16) }), undefined, 'the first fragment gets one');
  t.equal(about({ ...base, protocol: 1, fragmentOffset: 3, payload: Buffer.alloc(8) }), 'a non-first fragment', 'even of an echo');
  t.equal(about({ src: '0.0.0.0', dst: '10.244.99.1' }), 'a packet from no single host');
  t.equal(about({ src: '127.0.0.1', dst: '10.244.99.1' }), 'a packet from no single host');
  t.equal(about({ src: '224.0.0.5', dst: '10.244.99.1' }), 'a packet from no single host');
  t.equal(about({ src: '10.244.1.2', dst: '239.1.1.1' }), 'a multicast or broadcast packet');
  t.equal(about({ src: '10.244.1.2', dst: '255.255.255.255' }), 'a multicast or broadcast packet');
});

t.test('destination unreachable quotes what exists when the payload is short', async (t) => {
  const offender = ipv4({ src: '10.244.1.2', dst: '10.244.99.1', protocol: 17, payload: Buffer.from([1, 2, 3]) });
  const reply = destinationUnreachable(offender, ipToInt('10.244.1.0'));
  t.equal(reply.length, 20 + 8 + 23);
  t.same(reply.subarray(28), offender);
  t.ok(headerChecksumValid(reply));
  t.equal(referenceChecksum(reply, 20), 0, 'ICMP checksum verifies');
});
