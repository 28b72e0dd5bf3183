/** ipBlock membership: in `cidr` and in none of `except` (IPv4; IPv6 blocks never match here). */
import { inCidr } from '../../util/addresses.js';
import type { IPBlockSpec } from '../../spec/network-policy.js';

export function inBlock(ip: string, block: IPBlockSpec): boolean {
  if (block.family !== 4) return false;
  return inCidr(ip, block.cidr) && !block.except.some((e) => inCidr(ip, e));
}
