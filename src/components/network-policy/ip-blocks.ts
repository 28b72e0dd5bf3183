/** ipBlock membership: in `cidr` and in none of `except` (IPv4; IPv6 blocks never match here). */
import { IPv4, IPv4CidrRange } from 'ip-num';
import type { IPBlockSpec } from '../../spec/network-policy.js';

interface Span {
  first: bigint;
  last: bigint;
}

const spans = new Map<string, Span>();
const values = new Map<string, bigint>();
const CACHE_MAX = 100_000;

function spanOf(cidr: string): Span {
  let s = spans.get(cidr);
  if (!s) {
    const range = IPv4CidrRange.fromCidr(cidr);
    s = { first: range.getFirst().getValue(), last: range.getLast().getValue() };
    if (spans.size >= CACHE_MAX) spans.clear();
    spans.set(cidr, s);
  }
  return s;
}

export function ipValue(ip: string): bigint {
  let v = values.get(ip);
  if (v === undefined) {
    v = IPv4.fromString(ip).getValue();
    if (values.size >= CACHE_MAX) values.clear();
    values.set(ip, v);
  }
  return v;
}

export function inCidr(ip: string, cidr: string): boolean {
  const v = ipValue(ip);
  const s = spanOf(cidr);
  return v >= s.first && v <= s.last;
}

export function inBlock(ip: string, block: IPBlockSpec): boolean {
  if (block.family !== 4) return false;
  return inCidr(ip, block.cidr) && !block.except.some((e) => inCidr(ip, e));
}
