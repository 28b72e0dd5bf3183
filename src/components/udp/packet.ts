/**
 * IPv4 header arithmetic for the udp overlay: addresses as unsigned 32-bit
 * integers, the Internet checksum, the TTL decrement of a forwarding hop,
 * and the ICMP Destination Unreachable a router returns for a packet it has
 * no route for. Pure: no I/O, nothing here mutates a buffer it was not
 * explicitly handed for that purpose.
 */

export const IPV4_HEADER_MIN = 20;
export const IPV4_HEADER_MAX = 60;
export const PROTO_ICMP = 1;
export const ICMP_HEADER = 8;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_NET_UNREACH = 0;

/** Offsets into an IPv4 header (RFC 791). */
export const IP = {
  versionIhl: 0,
  tos: 1,
  totalLength: 2,
  id: 4,
  flagsFragment: 6,
  ttl: 8,
  protocol: 9,
  checksum: 10,
  source: 12,
  destination: 16,
} as const;

const FRAGMENT_OFFSET_MASK = 0x1fff;

/**
 * ICMP types that are errors (RFC 1812 4.3.2.7: no ICMP error about them).
 * Types above 18 are unknown to Linux too, which treats them the same way.
 */
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);
const ICMP_HIGHEST_KNOWN_TYPE = 18;

/** One's-complement sum of the 16-bit big-endian words of `buf[start, end)`, folded to 16 bits. */
export function onesComplementSum(buf: Uint8Array, start = 0, end = buf.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  // An odd trailing byte is padded with a zero byte (RFC 1071).
  if (i < end) sum += buf[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (RFC 1071) of `buf[start, end)`, as stored in a header. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~onesComplementSum(buf, start, end) & 0xffff;
}

export type HeaderProblem = 'not-ipv4' | 'malformed';

/**
 * Checks that `packet` starts with a whole IPv4 header and holds as many
 * bytes as its total length says. Returns the problem, or undefined.
 */
export function ipv4Problem(packet: Uint8Array): HeaderProblem | undefined {
  if (packet.length < 1) return 'malformed';
  if (packet[0]! >> 4 !== 4) return 'not-ipv4';
  if (packet.length < IPV4_HEADER_MIN) return 'malformed';
  const headerLength = (packet[0]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_MIN || headerLength > packet.length) return 'malformed';
  const totalLength = (packet[IP.totalLength]! << 8) | packet[IP.totalLength + 1]!;
  if (totalLength < headerLength || totalLength > packet.length) return 'malformed';
  return undefined;
}

export const headerLength = (packet: Uint8Array): number => (packet[0]! & 0x0f) * 4;
export const totalLength = (packet: Uint8Array): number => (packet[IP.totalLength]! << 8) | packet[IP.totalLength + 1]!;
export const destination = (packet: Uint8Array): number =>
  ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0;
export const source = (packet: Uint8Array): number =>
  ((packet[12]! << 24) | (packet[13]! << 16) | (packet[14]! << 8) | packet[15]!) >>> 0;

/**
 * Decrements the TTL of the IPv4 packet in `packet` in place and patches the
 * header checksum incrementally (RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'),
 * which never yields the -0 that RFC 1141's shortcut can). Returns false,
 * leaving the packet untouched, when the TTL would reach 0 (or already is 0):
 * such a packet must not be forwarded.
 */
export function decrementTtl(packet: Uint8Array): boolean {
  const ttl = packet[IP.ttl]!;
  if (ttl <= 1) return false;
  // m is the 16-bit word holding TTL (high byte) and protocol (low byte).
  const m = (ttl << 8) | packet[IP.protocol]!;
  const mNew = m - 0x100;
  const hc = (packet[IP.checksum]! << 8) | packet[IP.checksum + 1]!;
  let sum = (~hc & 0xffff) + (~m & 0xffff) + mNew;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const hcNew = ~sum & 0xffff;
  packet[IP.ttl] = ttl - 1;
  packet[IP.checksum] = hcNew >>> 8;
  packet[IP.checksum + 1] = hcNew & 0xff;
  return true;
}

/** Addresses that do not name a single host (RFC 1122 3.2.2): no ICMP error goes to or about them. */
function notUnicastHost(address: number): boolean {
  const first = address >>> 24;
  return first === 0 || first === 127 || first >= 224;
}

/**
 * Why an ICMP error must not be sent about `packet` (a valid IPv4 packet),
 * or undefined when one may be: never about an ICMP error (that could loop
 * between two routers), a fragment other than the first (the first one
 * already got its error), or a packet whose source or destination is not a
 * single host.
 */
export function noIcmpErrorAbout(packet: Uint8Array): string | undefined {
  const fragment = ((packet[IP.flagsFragment]! << 8) | packet[IP.flagsFragment + 1]!) & FRAGMENT_OFFSET_MASK;
  if (fragment !== 0) return 'a non-first fragment';
  if (notUnicastHost(source(packet))) return 'a packet from no single host';
  if (destination(packet) >>> 28 >= 0xe) return 'a multicast or broadcast packet';
  if (packet[IP.protocol] === PROTO_ICMP) {
    const hl = headerLength(packet);
    if (totalLength(packet) <= hl) return 'an ICMP packet with no ICMP header';
    const type = packet[hl]!;
    if (ICMP_ERROR_TYPES.has(type) || type > ICMP_HIGHEST_KNOWN_TYPE) return 'an ICMP error';
  }
  return undefined;
}

/** TTL of the errors we originate: they only have to reach a pod on this node, as flannel's proxy uses. */
export const ICMP_ERROR_TTL = 8;
/** Precedence "internetwork control", as routers mark the ICMP errors they send (RFC 1812 4.3.2.5). */
const ICMP_ERROR_TOS = 0xc0;

/**
 * The ICMP Destination Unreachable (type 3, code `code`) a router at
 * `from` returns for `offender` (a valid IPv4 packet): a fresh IPv4 packet
 * to the offender's source quoting its IP header and the first 8 bytes of
 * its payload (RFC 792), both checksums computed.
 */
export function destinationUnreachable(offender: Uint8Array, from: number, code = ICMP_NET_UNREACH): Buffer {
  const quoted = Math.min(headerLength(offender) + 8, totalLength(offender));
  const length = IPV4_HEADER_MIN + ICMP_HEADER + quoted;
  const out = Buffer.alloc(length);
  out[IP.versionIhl] = 0x45;
  out[IP.tos] = ICMP_ERROR_TOS;
  out.writeUInt16BE(length, IP.totalLength);
  // Identification 0 and DF clear: the packet is tiny and never fragmented.
  out[IP.ttl] = ICMP_ERROR_TTL;
  out[IP.protocol] = PROTO_ICMP;
  out.writeUInt32BE(from >>> 0, IP.source);
  out.writeUInt32BE(source(offender), IP.destination);
  out.writeUInt16BE(internetChecksum(out, 0, IPV4_HEADER_MIN), IP.checksum);

  const icmp = IPV4_HEADER_MIN;
  out[icmp] = ICMP_DEST_UNREACH;
  out[icmp + 1] = code;
  // Bytes 4..7 stay zero: "unused" for every code but 4 (fragmentation needed).
  out.set(offender.subarray(0, quoted), icmp + ICMP_HEADER);
  out.writeUInt16BE(internetChecksum(out, icmp, length), icmp + 2);
  return out;
}
