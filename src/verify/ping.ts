/**
 * One ICMP echo from inside a namespace, made by this process: an echo
 * socket created in the source's network namespace (kernel/ffi.ts), driven
 * by Node as a datagram socket. The packet on the wire is the one `ping`
 * sends (64 bytes, the kernel sets the identifier and checksum), but a
 * thousand of them cost no process each.
 *
 * A namespace whose net.ipv4.ping_group_range leaves us out (one the lab
 * did not make) has no echo socket to give: the caller runs `ping` there.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { openPingSocket, SyscallError } from '../kernel/ffi.js';
import { netnsPath } from '../kernel/netns.js';

export type PingOutcome =
  /** `64 bytes from 10.244.1.3: icmp_seq=1 time=0.081 ms`, as ping prints it (without the TTL, which the socket does not see). */
  | { replied: true; line: string }
  /** Why not: no reply in time, or the send failed (EHOSTUNREACH, ENETUNREACH). */
  | { replied: false; detail: string };

const ECHO_REQUEST = 8;
const ECHO_REPLY = 0;
/** ping's default: 56 bytes of data after the 8-byte header. */
const DATA_BYTES = 56;
/** Node sends to a port; an echo socket ignores it. */
const ANY_PORT = 1;

function echoRequest(data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(ECHO_REQUEST, 0);
  header.writeUInt16BE(1, 6); // icmp_seq=1
  return Buffer.concat([header, data]);
}

/**
 * One echo request to `ip` from the namespace `netns`, answered within
 * `timeoutMs` or not. Undefined when the namespace gives us no echo socket.
 */
export async function pingOnce(netns: string, ip: string, timeoutMs: number): Promise<PingOutcome | undefined> {
  let fd: number;
  try {
    fd = openPingSocket(netnsPath(netns));
  } catch (err) {
    if (err instanceof SyscallError && err.code === 'EACCES') return undefined;
    return { replied: false, detail: (err as Error).message };
  }
  const data = randomBytes(DATA_BYTES);
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const started = performance.now();
    let finished = false;
    const done = (outcome: PingOutcome) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      resolve(outcome);
    };
    // When the timer fires, the loop first takes in whatever arrived meanwhile (a reply that came while the process was busy), then decides.
    const timer = setTimeout(() => setImmediate(() => done({ replied: false, detail: `no reply within ${timeoutMs} ms` })), timeoutMs);
    socket.on('message', (msg, from) => {
      // Only replies to this socket's identifier reach it; the data tells this request's reply from a late one.
      if (from.address !== ip || msg.readUInt8(0) !== ECHO_REPLY || !msg.subarray(8).equals(data)) return;
      const ms = performance.now() - started;
      done({ replied: true, line: `${msg.length} bytes from ${ip}: icmp_seq=1 time=${ms.toFixed(3)} ms` });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done({ replied: false, detail: err.code ?? err.message }));
    socket.bind({ fd }, () => {
      socket.send(echoRequest(data), ANY_PORT, ip, (err) => err && done({ replied: false, detail: (err as NodeJS.ErrnoException).code ?? err.message }));
    });
  });
}
