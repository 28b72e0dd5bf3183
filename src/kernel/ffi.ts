/**
 * The few system calls Node has no API for, called through koffi: entering a
 * namespace with setns(2), creating listening sockets there, making a UTS
 * namespace for a child to be born in, and attaching to TUN devices.
 *
 * setns(2) moves only the calling thread. Everything here runs synchronously
 * on Node's main thread, so no other JavaScript can run while the thread is
 * inside a foreign namespace, and libuv's worker threads never leave home.
 * A socket belongs to the network namespace it was created in for its whole
 * life, so once the thread is back home Node can serve the fd like any other;
 * a process started meanwhile keeps the thread's namespaces.
 *
 * koffi is loaded on first use: importing this module costs nothing.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getSystemErrorMap } from 'node:util';

type Koffi = typeof import('koffi');

const CLONE_NEWNET = 0x40000000;
const CLONE_NEWUTS = 0x04000000;

// Values of the Linux generic ABI (x86-64, arm64); a few other architectures
// (MIPS, SPARC, PA-RISC) number these differently and are not supported.
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const IPPROTO_ICMP = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SOCKADDR_IN_SIZE = 16;
/** What Node itself uses; the kernel clamps it to net.core.somaxconn. */
const LISTEN_BACKLOG = 511;
/** HOST_NAME_MAX on Linux. */
const HOSTNAME_MAX = 64;

const OWN_NET = '/proc/thread-self/ns/net';
const OWN_UTS = '/proc/thread-self/ns/uts';

export type SocketProtocol = 'TCP' | 'UDP';

interface Libc {
  errno(): number;
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  bind(fd: number, address: Buffer, length: number): number;
  listen(fd: number, backlog: number): number;
  close(fd: number): number;
  send(fd: number, buf: Buffer, length: number, flags: number): number | bigint;
  recv(fd: number, buf: Buffer, length: number, flags: number): number | bigint;
  sethostname(name: string, length: number): number;
  unshare(flags: number): number;
}

let libc: Libc | undefined;

function sys(): Libc {
  if (libc) return libc;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new Error(
      `cannot load koffi, needed to enter network namespaces: ${(err as Error).message}\n` +
        `  reinstall the package's dependencies (npm ci) on this machine`,
    );
  }
  const lib = koffi.load('libc.so.6');
  libc = {
    errno: () => koffi.errno(),
    setns: lib.func('int setns(int fd, int nstype)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)'),
    bind: lib.func('int bind(int fd, const void *addr, uint32_t addrlen)'),
    listen: lib.func('int listen(int fd, int backlog)'),
    close: lib.func('int close(int fd)'),
    send: lib.func('intptr_t send(int fd, const void *buf, size_t len, int flags)'),
    recv: lib.func('intptr_t recv(int fd, void *buf, size_t len, int flags)'),
    sethostname: lib.func('int sethostname(const char *name, size_t len)'),
    unshare: lib.func('int unshare(int flags)'),
  };
  return libc;
}

/** A failed system call, with the errno name as `code` (EADDRINUSE, ENOENT, ...). */
export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SyscallError';
  }
}

/**
 * The thread could not get back into its own namespace. The process must
 * not go on: anything it opened next could land in a pod or break the host.
 */
export class NamespaceEscapeError extends Error {
  readonly fatal = true;
  constructor(message: string) {
    super(message);
    this.name = 'NamespaceEscapeError';
  }
}

/** An errno's name and text, as libuv knows them (`ENOENT`, `no such file or directory`). */
/** Loads koffi and the calls now: for a process that will need them soon and has nothing else to do meanwhile. */
export function loadSyscalls(): void {
  sys();
}

export function errnoName(errno: number): { code: string; text: string } {
  const entry = getSystemErrorMap().get(-errno);
  return entry ? { code: entry[0], text: entry[1] } : { code: `errno ${errno}`, text: 'unknown error' };
}

const HINTS: Record<string, string> = {
  EADDRINUSE:
    'another socket in that namespace holds the port (two containers of the pod declaring it, or a process started there by hand); free the port or change the containerPort',
  ENOENT: 'the namespace is gone; rebuild the lab with `up`',
  EPERM: 'entering a namespace needs root (CAP_SYS_ADMIN); run the lab as root',
  EACCES: 'entering a namespace needs root (CAP_SYS_ADMIN); run the lab as root',
  EINVAL: 'the path is not a namespace of the expected type',
  EMFILE: 'the agent ran out of file descriptors; raise its limit (ulimit -n)',
  ENFILE: 'the system ran out of file descriptors',
};

function failure(syscall: string, errno: number, context: string): SyscallError {
  const { code, text } = errnoName(errno);
  const hint = HINTS[code];
  return new SyscallError(syscall, errno, code, `${context}: ${syscall}: ${code} (${text})${hint ? `; ${hint}` : ''}`);
}

/** Node's fs errors carry the errno negated in `errno`; turn them into ours. */
function fsFailure(err: unknown, syscall: string, context: string): Error {
  const e = err as NodeJS.ErrnoException;
  return typeof e.errno === 'number' ? failure(syscall, Math.abs(e.errno), context) : (err as Error);
}

function openNamespace(path: string, context: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw fsFailure(err, `open ${path}`, context);
  }
}

/**
 * Runs `fn` with the calling thread inside the namespace at `path`, then
 * returns to the namespace the thread was in and checks that it got there.
 */
function withNamespace<T>(kind: 'net' | 'uts', path: string, context: string, fn: () => T): T {
  const lib = sys();
  const nstype = kind === 'net' ? CLONE_NEWNET : CLONE_NEWUTS;
  const ownPath = kind === 'net' ? OWN_NET : OWN_UTS;
  const home = openNamespace(ownPath, context);
  try {
    const target = openNamespace(path, context);
    try {
      if (lib.setns(target, nstype) !== 0) throw failure('setns', lib.errno(), context);
    } finally {
      closeSync(target);
    }
    try {
      return fn();
    } finally {
      returnHome(lib, home, kind, nstype, path);
    }
  } finally {
    closeSync(home);
  }
}

function returnHome(lib: Libc, home: number, kind: string, nstype: number, from: string): void {
  const rc = lib.setns(home, nstype);
  const errno = rc === 0 ? 0 : lib.errno();
  const expected = fstatSync(home).ino;
  const actual = statSync(kind === 'net' ? OWN_NET : OWN_UTS).ino;
  if (rc !== 0 || actual !== expected) {
    throw new NamespaceEscapeError(
      `could not return from ${kind} namespace ${from} to our own (inode ${expected}, now in ${actual}` +
        `${rc !== 0 ? `, setns: ${errnoName(errno).code}` : ''}); stopping so nothing is opened in the wrong namespace`,
    );
  }
}

/** Runs `fn` synchronously inside the network namespace at `path` (e.g. /run/netns/NAME). */
export function withNetns<T>(path: string, fn: () => T): T {
  return withNamespace('net', path, `cannot enter network namespace ${path}`, fn);
}

/** The inode that identifies the namespace at `path` (a /run/netns file or a /proc/PID/ns link). */
export function nsInode(path: string): number {
  return statSync(path).ino;
}

function sockaddrAny(port: number): Buffer {
  const addr = Buffer.alloc(SOCKADDR_IN_SIZE);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  // sin_addr 0.0.0.0 and the padding are left zero.
  return addr;
}

function checkPort(proto: SocketProtocol, port: number, where: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`cannot listen on ${proto} port ${port} in ${where}: the port must be an integer from 1 to 65535`);
  }
}

function listeningSocket(proto: SocketProtocol, port: number, context: string): number {
  const lib = sys();
  const type = (proto === 'TCP' ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  const fd = lib.socket(AF_INET, type, 0);
  if (fd < 0) throw failure('socket', lib.errno(), context);
  try {
    if (proto === 'TCP') {
      // Without it a restarted container could not bind while connections
      // of its previous instance linger in TIME_WAIT.
      const one = Buffer.alloc(4);
      one.writeInt32LE(1, 0);
      if (lib.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, one.length) !== 0) throw failure('setsockopt', lib.errno(), context);
    }
    if (lib.bind(fd, sockaddrAny(port), SOCKADDR_IN_SIZE) !== 0) throw failure('bind', lib.errno(), context);
    if (proto === 'TCP' && lib.listen(fd, LISTEN_BACKLOG) !== 0) throw failure('listen', lib.errno(), context);
    return fd;
  } catch (err) {
    lib.close(fd);
    throw err;
  }
}

/**
 * A socket bound to 0.0.0.0:`port` (listening, for TCP) inside the network
 * namespace at `netnsPath`. Returns the fd, non-blocking and close-on-exec;
 * the caller owns it (hand it to `net.Server.listen({fd})` or
 * `dgram.Socket.bind({fd})`, which close it with the server).
 */
export function openListeningSocket(netnsPath: string, proto: SocketProtocol, port: number): number {
  checkPort(proto, port, netnsPath);
  const context = `cannot listen on ${proto} port ${port} in network namespace ${netnsPath}`;
  return withNamespace('net', netnsPath, context, () => listeningSocket(proto, port, context));
}

/** The same socket in the caller's own network namespace (needs no privilege for ports above 1023). */
export function openListeningSocketHere(proto: SocketProtocol, port: number): number {
  checkPort(proto, port, 'our own network namespace');
  return listeningSocket(proto, port, `cannot listen on ${proto} port ${port} in our own network namespace`);
}

/**
 * An unconnected, unbound socket created inside the network namespace at
 * `netnsPath`, for connecting out from there (a probe from a pod). Returns
 * the fd, non-blocking and close-on-exec; hand it to `new net.Socket({fd})`
 * and connect, or to `dgram.Socket.bind({fd})`, which then own it.
 */
export function openClientSocket(netnsPath: string, proto: SocketProtocol): number {
  return clientSocket(netnsPath, proto === 'TCP' ? SOCK_STREAM : SOCK_DGRAM, 0, `cannot open a ${proto} socket in network namespace ${netnsPath}`);
}

/**
 * An ICMP echo socket (`SOCK_DGRAM`, `IPPROTO_ICMP`: what `ping` uses
 * unprivileged) inside the network namespace at `netnsPath`. The kernel
 * sets the echo identifier and checksum, and hands it only the replies to
 * its own requests. It is a datagram socket to Node: `dgram.Socket.bind({fd})`
 * takes it. Fails with EACCES unless the namespace's
 * net.ipv4.ping_group_range holds our group.
 */
export function openPingSocket(netnsPath: string): number {
  return clientSocket(netnsPath, SOCK_DGRAM, IPPROTO_ICMP, `cannot open an ICMP echo socket in network namespace ${netnsPath}`);
}

function clientSocket(netnsPath: string, type: number, protocol: number, context: string): number {
  return withNamespace('net', netnsPath, context, () => {
    const lib = sys();
    const fd = lib.socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw failure('socket', lib.errno(), context);
    return fd;
  });
}

const AF_NETLINK = 16;
const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
/** Big enough for any one datagram of a dump (the kernel fills up to a page or two). */
const NETLINK_RECV_BYTES = 65536;

/**
 * The answer to one netlink dump `request` (a whole message, header
 * included), asked from a socket opened inside the network namespace at
 * `netnsPath`, so the kernel answers for that namespace: the payload of
 * every message up to NLMSG_DONE. The socket blocks, which costs nothing:
 * the kernel builds each part of a dump as it is read.
 */
export function netlinkDump(netnsPath: string, protocol: number, request: Buffer): Buffer[] {
  const context = `cannot ask netlink (protocol ${protocol}) in network namespace ${netnsPath}`;
  const lib = sys();
  const fd = withNamespace('net', netnsPath, context, () => {
    const s = lib.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, protocol);
    if (s < 0) throw failure('socket', lib.errno(), context);
    return s;
  });
  try {
    if (Number(lib.send(fd, request, request.length, 0)) < 0) throw failure('send', lib.errno(), context);
    const out: Buffer[] = [];
    const buf = Buffer.alloc(NETLINK_RECV_BYTES);
    for (;;) {
      const n = Number(lib.recv(fd, buf, buf.length, 0));
      if (n < 0) {
        const errno = lib.errno();
        if (errno === EINTR) continue;
        throw failure('recv', errno, context);
      }
      for (let at = 0; at + NLMSG_HDRLEN <= n; ) {
        const len = buf.readUInt32LE(at);
        const type = buf.readUInt16LE(at + 4);
        if (len < NLMSG_HDRLEN) throw new Error(`${context}: a message of ${len} bytes`);
        if (type === NLMSG_DONE) return out;
        if (type === NLMSG_ERROR) {
          const errno = -buf.readInt32LE(at + NLMSG_HDRLEN);
          if (errno === 0) return out;
          throw failure('netlink', errno, context);
        }
        out.push(Buffer.from(buf.subarray(at + NLMSG_HDRLEN, at + len)));
        at += (len + 3) & ~3;
      }
    }
  } finally {
    lib.close(fd);
  }
}

function checkHostname(name: string, context: string): number {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > HOSTNAME_MAX || !/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(name)) {
    throw new RangeError(`${context}: a hostname is 1 to ${HOSTNAME_MAX} letters, digits, '-' and '.'`);
  }
  return bytes;
}

/**
 * Runs `fn` with the calling thread in a UTS namespace of its own whose
 * hostname is `name`, then returns the thread to the namespace it was in
 * and checks that it got there. A process started inside `fn` keeps the new
 * namespace (a pod's pause process): it is born with its pod's hostname,
 * with no `unshare` to exec and no hostname to set afterwards. The host's
 * hostname is never touched: the name is set only after the thread has
 * left the namespace it shares with the host.
 */
export function withNewUtsNamespace<T>(name: string, fn: () => T): T {
  const context = `cannot make a UTS namespace with hostname '${name}'`;
  const bytes = checkHostname(name, context);
  const lib = sys();
  const home = openNamespace(OWN_UTS, context);
  try {
    const own = fstatSync(home).ino;
    if (lib.unshare(CLONE_NEWUTS) !== 0) throw failure('unshare', lib.errno(), context);
    try {
      if (nsInode(OWN_UTS) === own) throw new Error(`${context}: unshare left us in our own UTS namespace`);
      if (lib.sethostname(name, bytes) !== 0) throw failure('sethostname', lib.errno(), context);
      return fn();
    } finally {
      returnHome(lib, home, 'uts', CLONE_NEWUTS, `a new one (${name})`);
    }
  } finally {
    closeSync(home);
  }
}

// ---------------------------------------------------------------------------
// TUN devices: attaching to one and moving packets through its fd. The one
// call made on a worker thread, poll(2), never changes namespaces, so the
// worker threads still never leave home.

const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const TUNSETOFFLOAD = 0x400454d0;
/** Offloads a TUN reader can take: packets with partial checksums (CSUM) and IPv4 TCP super-packets (TSO4). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const POLLIN = 0x0001;
const POLLFD_SIZE = 8;
const EAGAIN = 11;
const EINTR = 4;

interface TunLibc {
  errno(): number;
  /** Variadic in libc: pass the argument's C type before it. */
  ioctl(fd: number, request: number, argType: string, arg: Buffer | number): number;
  read(fd: number, buf: Buffer, count: number): number;
  poll: ((fds: Buffer, count: number, timeoutMs: number) => number) & {
    async(fds: Buffer, count: number, timeoutMs: number, done: (err: unknown, rc: number) => void): void;
  };
}

let tunLibc: TunLibc | undefined;

function tunSys(): TunLibc {
  if (tunLibc) return tunLibc;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new Error(
      `cannot load koffi, needed to attach to TUN devices: ${(err as Error).message}\n` +
        `  reinstall the package's dependencies (npm ci) on this machine`,
    );
  }
  const lib = koffi.load('libc.so.6');
  tunLibc = {
    errno: () => koffi.errno(),
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)'),
    read: lib.func('intptr_t read(int fd, void *buf, size_t count)'),
    poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)') as TunLibc['poll'],
  };
  return tunLibc;
}

const TUN_HINTS: Record<string, string> = {
  ENOENT: 'there is no /dev/net/tun; load the tun module (modprobe tun)',
  EPERM: 'attaching to a TUN device needs CAP_NET_ADMIN; run as root',
  EACCES: 'attaching to a TUN device needs CAP_NET_ADMIN; run as root',
  EBUSY: 'another process is attached to the device already (is a second daemon running for this node?)',
  EINVAL: 'the device exists but is not a single-queue TUN device (a TAP, or created with multi_queue)',
  EBADFD: 'the device is gone (deleted, or its network namespace removed); restart once it exists again',
};

/** What a TUN fd reports once its device is deleted; libuv's error map has no name for it. */
const EBADFD = 77;

function tunFailure(syscall: string, errno: number, context: string): SyscallError {
  const { code, text } = errno === EBADFD ? { code: 'EBADFD', text: 'file descriptor in bad state' } : errnoName(errno);
  const hint = TUN_HINTS[code];
  return new SyscallError(syscall, errno, code, `${context}: ${syscall}: ${code} (${text})${hint ? `; ${hint}` : ''}`);
}

export interface OpenTunOptions {
  /** O_NONBLOCK on the fd: read with `readNonBlocking` after `waitReadable`. */
  nonBlocking?: boolean;
  /**
   * TUNSETIFF creates the device when no device has that name. Off by
   * default: a daemon started in the wrong network namespace must fail
   * rather than leave a stray device behind.
   */
  create?: boolean;
  /**
   * Every read and write starts with a virtio-net header (IFF_VNET_HDR),
   * and the kernel may hand over packets with these offloads (TUN_F_*
   * bits, TUNSETOFFLOAD): partial checksums, TCP super-packets.
   */
  offloads?: number;
}

/** Whether the calling thread's network namespace has a device called `name`. */
function deviceExists(name: string): boolean {
  const devices = readFileSync('/proc/thread-self/net/dev', 'utf8');
  return devices.split('\n').some((line) => line.trimStart().startsWith(`${name}:`));
}

/**
 * Attaches to the TUN device `name` of the calling thread's network
 * namespace with IFF_TUN | IFF_NO_PI: every read(2) returns exactly one IP
 * packet and every write(2) injects one, with no packet-information header
 * (but with a virtio-net header first when `offloads` is given).
 * Returns the fd (close-on-exec, as libuv opens every file); the caller owns it.
 */
export function openTun(name: string, options: OpenTunOptions = {}): number {
  const context = `cannot attach to TUN device ${name}`;
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes >= IFNAMSIZ || /[\s/:]/.test(name)) {
    throw new RangeError(`${context}: a device name is 1 to ${IFNAMSIZ - 1} bytes with no whitespace, '/' or ':'`);
  }
  if (!options.create && !deviceExists(name)) {
    throw new Error(
      `${context}: this network namespace has no device ${name}; create it first (ip tuntap add dev ${name} mode tun) ` +
        `or check that the process runs in the right namespace`,
    );
  }
  const lib = tunSys();
  let fd: number;
  try {
    fd = openSync('/dev/net/tun', fsConstants.O_RDWR | (options.nonBlocking ? fsConstants.O_NONBLOCK : 0));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw typeof e.errno === 'number' ? tunFailure('open /dev/net/tun', Math.abs(e.errno), context) : err;
  }
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.write(name, 0, 'utf8');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI | (options.offloads !== undefined ? IFF_VNET_HDR : 0), IFNAMSIZ);
  if (lib.ioctl(fd, TUNSETIFF, 'void *', ifr) !== 0) {
    const errno = lib.errno();
    closeSync(fd);
    throw tunFailure('ioctl TUNSETIFF', errno, context);
  }
  if (options.offloads !== undefined && lib.ioctl(fd, TUNSETOFFLOAD, 'unsigned long', options.offloads) !== 0) {
    const errno = lib.errno();
    closeSync(fd);
    throw tunFailure('ioctl TUNSETOFFLOAD', errno, context);
  }
  return fd;
}

/** The worker thread writes into these; they must outlive the call, which koffi does not ensure. */
const pending = new Set<Buffer>();

/**
 * Waits on a worker thread until `fd` has something to read or `timeoutMs`
 * passes, then calls `done` on the main thread: `true` when readable.
 * The wait costs one worker-thread round trip, however many packets queue
 * up meanwhile; drain them with `readNonBlocking` on the main thread.
 */
export function waitReadable(fd: number, timeoutMs: number, done: (err: Error | null, readable: boolean) => void): void {
  const lib = tunSys();
  const pollfd = Buffer.alloc(POLLFD_SIZE);
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLIN, 4);
  pending.add(pollfd);
  lib.poll.async(pollfd, 1, timeoutMs, (err, rc) => {
    pending.delete(pollfd);
    // errno lives on the worker thread and cannot be read here, so a failed
    // poll (EINTR) just counts as not readable. A broken fd is not lost:
    // poll reports it ready (POLLERR, POLLNVAL) and the read that follows
    // fails with the real errno.
    if (err) done(err instanceof Error ? err : new Error(String(err)), false);
    else done(null, rc > 0);
  });
}

/**
 * read(2) on a non-blocking fd into `buffer`: the byte count, or -1 when
 * nothing is waiting. Any other failure throws a SyscallError.
 */
export function readNonBlocking(fd: number, buffer: Buffer, context: string): number {
  const lib = tunSys();
  for (;;) {
    const n = Number(lib.read(fd, buffer, buffer.length));
    if (n >= 0) return n;
    const errno = lib.errno();
    if (errno === EAGAIN) return -1;
    if (errno === EINTR) continue;
    throw tunFailure('read', errno, context);
  }
}
