/**
 * Text the netfilter renderers share (kube-proxy, network policy): chain
 * names that carry a hash, as kube-proxy makes them, and `iptables-save`'s
 * quoting.
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

export const sha256base32 = (text: string) => base32(createHash('sha256').update(text).digest());

/** The first `length` characters of the base32 SHA-256 of `text`: chain names that fit iptables' 28 characters. */
export const shortHash = (text: string, length: number): string => sha256base32(text).slice(0, length);

/** Bare when `iptables-save` prints it bare, quoted otherwise. */
export function iptablesQuote(text: string): string {
  return /^[A-Za-z0-9_-]+$/.test(text) ? text : `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/** `-m comment --comment TEXT`, quoted as `iptables-save` prints it. */
export const iptablesComment = (text: string): string => `-m comment --comment ${iptablesQuote(text)}`;
