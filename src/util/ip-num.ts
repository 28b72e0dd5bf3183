/**
 * ip-num, loaded with `require`. It is a CommonJS package: imported as ES
 * modules, Node first scans its sources for their export names, which cost
 * every process that loads it (the CLI, the agent) about three times the
 * load itself. Import ip-num's values from here (loaded at import) or from
 * ip-num-load.ts (loaded at first use), its types from here.
 */
import { ipNum } from './ip-num-load.js';

type IpNum = typeof import('ip-num');

export const { IPv4, IPv4CidrRange, IPv4Prefix, IPv6, IPv6CidrRange, Validator } = ipNum();
export type IPv4 = InstanceType<IpNum['IPv4']>;
export type IPv4CidrRange = InstanceType<IpNum['IPv4CidrRange']>;
export type IPv4Prefix = InstanceType<IpNum['IPv4Prefix']>;
export type IPv6 = InstanceType<IpNum['IPv6']>;
export type IPv6CidrRange = InstanceType<IpNum['IPv6CidrRange']>;
