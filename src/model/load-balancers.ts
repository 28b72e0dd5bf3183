/**
 * The cloud controller's address allocator: `status.loadBalancer` IPs for
 * LoadBalancer services, from a pool at the top of the lab's external
 * network (the last quarter, broadcast excluded), as a cloud hands out
 * public addresses. `loadBalancerIP` is honoured anywhere in the external
 * network that is free. A service keeps its address across `apply` and
 * `up`, like a cloud keeps a load balancer while its service exists.
 * Deterministic: the lowest free pool address.
 */
import { cidr, nthAddress, offsetIn } from '../util/addresses.js';
import type { ServiceSpec } from '../spec/services.js';
import type { ConfigProblem } from '../util/errors.js';

/** Offsets .1-.10 of the external network are the lab's own (routers, resolver, load balancer, clients). */
export const EXTERNAL_RESERVED = 10;

/** First and last offset of the pool in `externalCidr`. */
export function loadBalancerPool(externalCidr: string): { first: number; last: number } {
  const size = Number(cidr(externalCidr).getSize());
  return { first: Math.max(size - size / 4, EXTERNAL_RESERVED + 1), last: size - 2 };
}

/** The pool as text for messages: `203.0.113.192-203.0.113.254`. */
export function describePool(externalCidr: string): string {
  const pool = loadBalancerPool(externalCidr);
  const range = cidr(externalCidr);
  return `${nthAddress(range, pool.first)}-${nthAddress(range, pool.last)}`;
}

export interface LoadBalancerInput {
  externalCidr: string;
  /** Addresses of the external servers, which no load balancer may take. */
  taken: string[];
  services: ServiceSpec[];
  /** Service key → address the running lab gave it. */
  before: Map<string, string | undefined>;
}

const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

/** Service key → load-balancer IP, for every LoadBalancer service that could get one; problems for the rest. */
export function allocateLoadBalancerIPs(input: LoadBalancerInput, problems: ConfigProblem[]): Map<string, string> {
  const range = cidr(input.externalCidr);
  const size = Number(range.getSize());
  const pool = loadBalancerPool(input.externalCidr);
  const owners = new Map<number, string>();
  for (const ip of input.taken) {
    const o = offsetIn(range, ip);
    if (o !== undefined) owners.set(o, `external server ${ip}`);
  }
  const wanted = input.services.filter((s) => s.type === 'LoadBalancer');
  const out = new Map<string, string>();

  for (const s of wanted) {
    if (s.loadBalancerIP === undefined) continue;
    const key = keyOf(s);
    const o = offsetIn(range, s.loadBalancerIP);
    const refuse = (why: string) =>
      problems.push({
        code: 'bad-value',
        source: s.source,
        message: `Service ${key}: spec.loadBalancerIP ${s.loadBalancerIP} ${why}; pick a free address of spec.external.cidr ${input.externalCidr} (the pool is ${describePool(input.externalCidr)}) or leave it out`,
      });
    if (o === undefined) refuse(`is outside spec.external.cidr ${input.externalCidr}`);
    else if (o <= EXTERNAL_RESERVED || o === size - 1) refuse(o === size - 1 ? 'is the broadcast address' : `is reserved by the lab (.1-.${EXTERNAL_RESERVED})`);
    else if (owners.has(o)) refuse(`is already taken by ${owners.get(o)}`);
    else {
      owners.set(o, `Service ${key}`);
      out.set(key, s.loadBalancerIP);
    }
  }
  // Addresses already handed out stay with their services.
  for (const s of wanted) {
    const key = keyOf(s);
    const old = input.before.get(key);
    const o = old === undefined ? undefined : offsetIn(range, old);
    if (out.has(key) || s.loadBalancerIP !== undefined || o === undefined || o < pool.first || o > pool.last || owners.has(o)) continue;
    owners.set(o, `Service ${key}`);
    out.set(key, old!);
  }
  let next = pool.first;
  for (const s of wanted) {
    const key = keyOf(s);
    if (out.has(key) || s.loadBalancerIP !== undefined) continue;
    while (next <= pool.last && owners.has(next)) next++;
    if (next > pool.last) {
      problems.push({
        code: 'capacity',
        source: s.source,
        message: `Service ${key}: the load-balancer pool ${describePool(input.externalCidr)} has no free address left; use a larger spec.external.cidr or fewer LoadBalancer services`,
      });
      continue;
    }
    owners.set(next, `Service ${key}`);
    out.set(key, nthAddress(range, next));
  }
  return out;
}
