/** Address arithmetic for the planner, all through ip-num. */
import { IPv4, IPv4CidrRange } from 'ip-num';

export function cidr(text: string): IPv4CidrRange {
  return IPv4CidrRange.fromCidr(text);
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
  return IPv4.fromNumber(value).toString();
}

/** The index-th subnet of `prefix` bits inside `range` (index 0 = first). */
export function nthSubnet(range: IPv4CidrRange, prefix: number, index: number): IPv4CidrRange {
  const size = 1n << BigInt(32 - prefix);
  const first = range.getFirst().getValue() + size * BigInt(index);
  const sub = IPv4CidrRange.fromCidr(`${IPv4.fromNumber(first).toString()}/${prefix}`);
  if (!range.contains(sub)) {
    throw new RangeError(`${range.toCidrString()} holds no /${prefix} number ${index}`);
  }
  return sub;
}

/** Offset of `ip` from the network address of `range`, or undefined when outside. */
export function offsetIn(range: IPv4CidrRange, ip: string): number | undefined {
  const value = IPv4.fromString(ip).getValue();
  if (value < range.getFirst().getValue() || value > range.getLast().getValue()) return undefined;
  return Number(value - range.getFirst().getValue());
}

export function withPrefix(ip: string, range: IPv4CidrRange): string {
  return `${ip}/${prefixLength(range)}`;
}
