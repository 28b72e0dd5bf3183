/**
 * The lab's one module of IPv4 address arithmetic. Ranges go through
 * ip-num: the lab file's checks, the planner, ipBlock matching and the
 * ingress allowlists use it; ip-num is loaded at the first call, not at
 * import. Addresses as unsigned 32-bit integers (`ipToInt`, `parseCidr`)
 * are for the paths that run per packet or per query (the udp forwarder,
 * the DNS server), where a BigInt per lookup would cost more than the work.
 */
import type { IPv4, IPv4CidrRange } from './ip-num.js';
import { ipNum } from './ip-num-load.js';

export function cidr(text: string): IPv4CidrRange {
  return ipNum().IPv4CidrRange.fromCidr(text);
}

export function prefixLength(range: IPv4CidrRange): number {
  return Number(range.getPrefix().getValue());
}

/** The n-th address of a range (0 = network address). */
export function nthAddress(range: IPv4CidrRange, n: number | bigint): string {
  const value = range.getFirst().getValue() + BigInt(n);
  if (value > range.getLast().getValue()) {
    throw new RangeError(`${range.toCidrString()} has no address at offset ${n}`);
  }
  return ipNum().IPv4.fromNumber(value).toString();
}

/** The index-th subnet of `prefix` bits inside `range` (index 0 = first). */
export function nthSubnet(range: IPv4CidrRange, prefix: number, index: number): IPv4CidrRange {
  const size = 1n << BigInt(32 - prefix);
  const first = range.getFirst().getValue() + size * BigInt(index);
  const sub = ipNum().IPv4CidrRange.fromCidr(`${ipNum().IPv4.fromNumber(first).toString()}/${prefix}`);
  if (!range.contains(sub)) {
    throw new RangeError(`${range.toCidrString()} holds no /${prefix} number ${index}`);
  }
  return sub;
}

/** Offset of `ip` from the network address of `range`, or undefined when outside. */
export function offsetIn(range: IPv4CidrRange, ip: string | IPv4): number | undefined {
  const value = (typeof ip === 'string' ? ipNum().IPv4.fromString(ip) : ip).getValue();
  if (value < range.getFirst().getValue() || value > range.getLast().getValue()) return undefined;
  return Number(value - range.getFirst().getValue());
}

/** `text` as an address when it is a valid dotted IPv4 address. */
export function parseIPv4(text: unknown): IPv4 | undefined {
  if (typeof text !== 'string' || !ipNum().Validator.isValidIPv4String(text)[0]) return undefined;
  return ipNum().IPv4.fromString(text);
}

/** How many subnets of length `prefix` fit in `range` (0 when `range` is smaller). */
export function subnetCount(range: IPv4CidrRange, prefix: number): bigint {
  return range.getSize() / ipNum().IPv4Prefix.fromNumber(BigInt(prefix)).toRangeSize();
}

/*
 * Membership tests run for every (pod, peer) pair of a policy truth table:
 * parsed addresses and ranges are kept, bounded, so a large lab does not
 * parse the same text millions of times.
 */
const spans = new Map<string, { first: bigint; last: bigint }>();
const values = new Map<string, bigint>();
const CACHE_MAX = 100_000;

/** The address as a number. */
export function ipValue(ip: string): bigint {
  let v = values.get(ip);
  if (v === undefined) {
    v = ipNum().IPv4.fromString(ip).getValue();
    if (values.size >= CACHE_MAX) values.clear();
    values.set(ip, v);
  }
  return v;
}

/** Whether IPv4 `ip` is in `cidr` (host bits of `cidr` ignored); IPv6 on either side is never in. */
export function inCidr(ip: string, cidr: string): boolean {
  if (ip.includes(':') || cidr.includes(':')) return false;
  let s = spans.get(cidr);
  if (!s) {
    const [net = '', bits = '32'] = cidr.split('/');
    const size = 1n << BigInt(32 - Number(bits));
    const first = (ipNum().IPv4.fromString(net).getValue() / size) * size;
    s = { first, last: first + size - 1n };
    if (spans.size >= CACHE_MAX) spans.clear();
    spans.set(cidr, s);
  }
  const v = ipValue(ip);
  return v >= s.first && v <= s.last;
}

export function withPrefix(ip: string, range: IPv4CidrRange): string {
  return `${ip}/${prefixLength(range)}`;
}

/** `a.b.c.d` to an unsigned 32-bit integer; RangeError on anything else. */
export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new RangeError(`'${ip}' is not an IPv4 address (a.b.c.d)`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new RangeError(`'${ip}' is not an IPv4 address (a.b.c.d)`);
    value = value * 256 + Number(part);
  }
  return value;
}

export function intToIp(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

export interface Cidr {
  /** Network address, host bits cleared. */
  network: number;
  prefix: number;
  mask: number;
}

/** `a.b.c.d/n`; RangeError when malformed or when host bits are set. */
export function parseCidr(text: string): Cidr {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const prefix = match ? Number(match[2]) : NaN;
  if (!match || prefix > 32) throw new RangeError(`'${text}' is not an IPv4 CIDR (a.b.c.d/n, n from 0 to 32)`);
  const address = ipToInt(match[1]!);
  const mask = prefixMask(prefix);
  if ((address & mask) >>> 0 !== address) {
    throw new RangeError(`'${text}' has host bits set; the network is ${intToIp((address & mask) >>> 0)}/${prefix}`);
  }
  return { network: address, prefix, mask };
}

/** The mask of a prefix length, as an unsigned 32-bit integer. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
