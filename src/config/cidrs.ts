/** CIDR checks for the Lab document, all through ip-num. */
import { IPv4, IPv4CidrRange } from 'ip-num';

export function parseCidr(text: unknown): { range?: IPv4CidrRange; problem?: string } {
  if (typeof text !== 'string' || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(text)) {
    return { problem: `'${String(text)}' is not an IPv4 CIDR like 10.244.0.0/16` };
  }
  let range: IPv4CidrRange;
  try {
    range = IPv4CidrRange.fromCidr(text);
  } catch {
    return { problem: `'${text}' is not an IPv4 CIDR like 10.244.0.0/16` };
  }
  const [address] = text.split('/');
  if (range.getFirst().toString() !== address) {
    return { problem: `'${text}' has host bits set; write the network address ${range.getFirst().toString()}/${range.getPrefix().getValue()}` };
  }
  return { range };
}

export function parseIp(text: unknown): IPv4 | undefined {
  if (typeof text !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(text)) return undefined;
  try {
    return IPv4.fromString(text);
  } catch {
    return undefined;
  }
}

export function prefixOf(range: IPv4CidrRange): number {
  return Number(range.getPrefix().getValue());
}

/** How many /24 subnets a range holds. */
export function count24(range: IPv4CidrRange): number {
  const prefix = prefixOf(range);
  return prefix > 24 ? 0 : 2 ** (24 - prefix);
}

export function offsetOf(range: IPv4CidrRange, ip: IPv4): number | undefined {
  const v = ip.getValue();
  if (v < range.getFirst().getValue() || v > range.getLast().getValue()) return undefined;
  return Number(v - range.getFirst().getValue());
}
