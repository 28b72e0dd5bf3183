/**
 * ip-num, loaded with `require`. It is a CommonJS package: imported as ES
 * modules, Node first scans its sources for their export names, which cost
 * every process that loads it (the CLI, the agent, the ingress controllers)
 * about three times the load itself. Import ip-num from here.
 */
import { createRequire } from 'node:module';

type IpNum = typeof import('ip-num');

const ipNum = createRequire(import.meta.url)('ip-num') as IpNum;

export const { IPv4, IPv4CidrRange, IPv4Prefix, IPv6, IPv6CidrRange, Validator } = ipNum;
export type IPv4 = InstanceType<IpNum['IPv4']>;
export type IPv4CidrRange = InstanceType<IpNum['IPv4CidrRange']>;
export type IPv4Prefix = InstanceType<IpNum['IPv4Prefix']>;
export type IPv6 = InstanceType<IpNum['IPv6']>;
export type IPv6CidrRange = InstanceType<IpNum['IPv6CidrRange']>;
