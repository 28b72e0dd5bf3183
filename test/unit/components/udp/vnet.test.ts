/**
 * The virtio-net header of the udp daemon's TUN: which checksums the
 * sender settles, which packets cross as super-packets, and the header the
 * receiver writes them back with.
 */
import t from 'tap';
import {
  completeChecksum,
  GSO_NONE,
  GSO_TCPV4,
  headerForTun,
  NEEDS_CSUM,
  prepareForWire,
  readVnetHeader,
  VNET_HEADER_LENGTH,
  writeVnetHeader,
  type VnetHeader,
} from '../../../../dist/components/udp/vnet.js';
import { addr, ipv4, prng, referenceChecksum } from './fixtures/packets.js';

const MTU = 1472;
const SRC = '10.244.1.2';
const DST = '10.244.2.3';

/** A TCP segment (20-byte header plus 12 bytes of options, as with timestamps) carrying `payload`, checksum left 0. */
function tcp(payload: Uint8Array): Buffer {
  const b = Buffer.alloc(32 + payload.length);
  b.writeUInt16BE(40000, 0);
  b.writeUInt16BE(8080, 2);
  b.writeUInt32BE(1, 4);
  b[12] = (32 / 4) << 4;
  b[13] = 0x18;
  b.writeUInt16BE(64240, 14);
  Buffer.from(payload).copy(b, 32);
  return b;
}

/** The pseudo-header of an L4 segment of `length` bytes. */
function pseudo(protocol: number, length: number): Buffer {
  return Buffer.from([...addr(SRC), ...addr(DST), 0, protocol, length >> 8, length & 0xff]);
}

/** The checksum over the pseudo-header and `segment`: what the kernel writes when the field is 0, and 0 when the field holds it. */
function fullChecksum(protocol: number, segment: Buffer): number {
  return referenceChecksum(Buffer.concat([pseudo(protocol, segment.length), segment]));
}

/** The packet as a checksum-offloading stack hands it over: the field holds the pseudo-header's sum, not complemented. */
function partial(protocol: number, segment: Buffer, offset: number): Buffer {
  const packet = ipv4({ src: SRC, dst: DST, protocol, payload: segment });
  packet.writeUInt16BE(~referenceChecksum(pseudo(protocol, segment.length)) & 0xffff, 20 + offset);
  return packet;
}

const payload = (n: number) => {
  const r = prng(n);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};

t.test('the header reads back as written, little-endian', async (t) => {
  const h: VnetHeader = { flags: NEEDS_CSUM, gsoType: GSO_TCPV4, headerLength: 52, gsoSize: 1420, csumStart: 20, csumOffset: 16 };
  const buf = Buffer.alloc(VNET_HEADER_LENGTH);
  writeVnetHeader(h, buf);
  t.same([...buf], [1, 1, 52, 0, 0x8c, 0x05, 20, 0, 16, 0]);
  t.same(readVnetHeader(buf), h);
});

t.test('a partial checksum is completed to what the full computation gives', async (t) => {
  for (const n of [0, 1, 100, 1419, 1420]) {
    const segment = tcp(payload(n));
    const packet = partial(6, segment, 16);
    completeChecksum(packet, 20, 16);
    t.equal(packet.readUInt16BE(36), fullChecksum(6, segment), `TCP with ${n} payload bytes`);
  }
  const udp = Buffer.alloc(8 + 33);
  udp.writeUInt16BE(5353, 0);
  udp.writeUInt16BE(53, 2);
  udp.writeUInt16BE(udp.length, 4);
  Buffer.from(payload(33)).copy(udp, 8);
  const packet = partial(17, udp, 6);
  completeChecksum(packet, 20, 6);
  const expected = fullChecksum(17, udp);
  t.equal(packet.readUInt16BE(26), expected === 0 ? 0xffff : expected, 'UDP');
});

t.test('the sender settles every checksum but a super-packet\'s', async (t) => {
  const small = partial(6, tcp(payload(1000)), 16);
  const header: VnetHeader = { flags: NEEDS_CSUM, gsoType: GSO_NONE, headerLength: 0, gsoSize: 0, csumStart: 20, csumOffset: 16 };
  t.equal(prepareForWire(header, small, MTU), false, 'a packet that fits the MTU is not a super-packet');
  t.equal(fullChecksum(6, small.subarray(20)), 0, 'its checksum is complete: the segment verifies');

  // Segmentation offload on a packet that turned out to fit: settled like any other.
  const one = partial(6, tcp(payload(1400)), 16);
  t.equal(prepareForWire({ ...header, gsoType: GSO_TCPV4, gsoSize: 1420, headerLength: 52 }, one, MTU), false);
  t.equal(fullChecksum(6, one.subarray(20)), 0, 'and verifies');

  const big = partial(6, tcp(payload(20000)), 16);
  const field = big.readUInt16BE(36);
  t.equal(prepareForWire({ ...header, gsoType: GSO_TCPV4, gsoSize: 1420, headerLength: 52 }, big, MTU), true, 'a TCP super-packet travels whole');
  t.equal(big.readUInt16BE(36), field, 'with its checksum still partial, for the segments the peer makes');

  const done = ipv4({ src: SRC, dst: DST, protocol: 6, payload: tcp(payload(10)) });
  const before = Buffer.from(done);
  t.equal(prepareForWire({ ...header, flags: 0 }, done, MTU), false);
  t.same(done, before, 'a packet without NEEDS_CSUM is left alone');
});

t.test('the receiver asks for segmentation at the MTU only for TCP super-packets', async (t) => {
  const big = ipv4({ src: SRC, dst: DST, protocol: 6, payload: tcp(payload(30000)) });
  t.same(headerForTun(big, MTU), { flags: NEEDS_CSUM, gsoType: GSO_TCPV4, headerLength: 52, gsoSize: MTU - 52, csumStart: 20, csumOffset: 16 });
  const none = { flags: 0, gsoType: GSO_NONE, headerLength: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  t.same(headerForTun(ipv4({ src: SRC, dst: DST, protocol: 6, payload: tcp(payload(1000)) }), MTU), none, 'TCP that fits the MTU');
  t.same(headerForTun(ipv4({ src: SRC, dst: DST, protocol: 17, payload: payload(3000) }), MTU), none, 'anything but TCP');
});
