/**
 * The listening TCP ports of a network namespace, asked from the kernel's
 * socket diagnostics (NETLINK_SOCK_DIAG, what `ss -lt` asks) by this
 * process. Reading `/proc/<pid>/net/tcp` instead walks every bucket of the
 * machine-wide connection table for each namespace, a few milliseconds each,
 * where a dump of listeners only looks at listeners.
 */
import { netlinkDump } from './ffi.js';

const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const TCP_LISTEN = 10;
/** struct inet_diag_req_v2: family, protocol, ext, pad, states, then the 48-byte inet_diag_sockid (all zero: every socket). */
const REQ_BYTES = 56;

/** The dump request for one address family's TCP listeners. */
export function listenersRequest(family: number): Buffer {
  const msg = Buffer.alloc(16 + REQ_BYTES);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
  msg.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  msg.writeUInt32LE(1, 8);
  msg.writeUInt8(family, 16);
  msg.writeUInt8(IPPROTO_TCP, 17);
  msg.writeUInt32LE(1 << TCP_LISTEN, 20);
  return msg;
}

/** The local port of each struct inet_diag_msg (family, state, timer, retrans, then the source port, big-endian). */
export function sourcePorts(messages: readonly Buffer[]): number[] {
  return messages.filter((m) => m.length >= 6).map((m) => m.readUInt16BE(4));
}

/** Every port a TCP socket listens on in the namespace at `netnsPath`, IPv4 and IPv6. */
export function listeningTcpPorts(netnsPath: string): number[] {
  return [AF_INET, AF_INET6].flatMap((family) => sourcePorts(netlinkDump(netnsPath, NETLINK_SOCK_DIAG, listenersRequest(family))));
}
