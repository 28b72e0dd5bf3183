/**
 * kube-proxy's chain names: a fixed prefix and a hash of the service port
 * (and endpoint). iptables chain names are at most 28 characters, and a hash
 * keeps names the same on every node and every sync, so the names a user
 * reads on a lab node are the ones a real cluster would show.
 */

import { shortHash, sha256base32 } from '../../render/netfilter-text.js';

/** `ip:port`, with an IPv6 address in brackets (Go's `net.JoinHostPort`). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The 16 characters shared by a service port's SVC, SVL, EXT and FW chains. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return sha256base32(servicePortName + protocol.toLowerCase()).slice(0, 16);
}

/** The 16 characters of an endpoint's SEP chain; `endpoint` is `ip:port`. */
export function endpointHash(servicePortName: string, protocol: string, endpoint: string): string {
  return sha256base32(servicePortName + protocol.toLowerCase() + endpoint).slice(0, 16);
}

/** Cluster traffic policy: every ready endpoint. */
export const svcChain = (servicePortName: string, protocol: string): string => `KUBE-SVC-${portProtoHash(servicePortName, protocol)}`;
/** Local traffic policy: this node's endpoints only. */
export const svlChain = (servicePortName: string, protocol: string): string => `KUBE-SVL-${portProtoHash(servicePortName, protocol)}`;
/** Entry for external destinations (NodePort, load-balancer IPs). */
export const extChain = (servicePortName: string, protocol: string): string => `KUBE-EXT-${portProtoHash(servicePortName, protocol)}`;
/** loadBalancerSourceRanges filtering. */
export const fwChain = (servicePortName: string, protocol: string): string => `KUBE-FW-${portProtoHash(servicePortName, protocol)}`;
/** One endpoint: hairpin masquerade and DNAT. */
export const sepChain = (servicePortName: string, protocol: string, endpoint: string): string =>
  `KUBE-SEP-${endpointHash(servicePortName, protocol, endpoint)}`;

/** nftables mode: the 8 characters put in front of a readable chain or set name. */
export function nftHash(name: string): string {
  return sha256base32(name).slice(0, 8);
}
