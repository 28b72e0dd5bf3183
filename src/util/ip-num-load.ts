/**
 * ip-num itself, loaded on first use: a process that never does address
 * math (an ingress controller, the load balancer) never pays for loading
 * it, which is most of what such a daemon loads. Values come from here or
 * from ip-num.ts (loaded at import); types from ip-num.ts.
 */
import { createRequire } from 'node:module';

type IpNum = typeof import('ip-num');

let loaded: IpNum | undefined;

export function ipNum(): IpNum {
  return (loaded ??= createRequire(import.meta.url)('ip-num') as IpNum);
}
