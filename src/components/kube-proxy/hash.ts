/**
 * kube-proxy's chain names: a fixed prefix and a hash of the service port
 * (and endpoint). iptables chain names are at most 28 characters, and a hash
 * keeps names the same on every node and every sync, so the names a user
 * reads on a lab node are the ones a real cluster would show.
 */
import { createHash } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (standard alphabet, `=` padding), as Go's `base32.StdEncoding`. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET.charAt((buffer >>> bits) & 31);
    }
  }
  if (bits > 0) out += ALPHABET.charAt((buffer << (5 - bits)) & 31);
  return out.padEnd(Math.ceil(out.length / 8) * 8, '=');
}

const sha256base32 = (text: string) => base32(createHash('sha256').update(text).digest());

/** The first `length` characters of the base32 SHA-256 of `text`: chain names that fit iptables' 28 characters. */
export const shortHash = (text: string, length: number): string => sha256base32(text).slice(0, length);

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
