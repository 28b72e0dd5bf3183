/**
 * Starting processes with posix_spawn(3) through koffi. Node's own spawn
 * forks this process, copying its page tables, which on this kind of
 * machine costs several milliseconds per child and grows with what the
 * process holds in memory (the plan of a large lab); glibc's posix_spawn
 * shares the memory until the child has exec'd (vfork), so a thousand
 * commands cost a thousand execs, not a thousand copies of Node.
 *
 * Node does not know these children: a detached one (the pause processes)
 * is never reaped while its parent lives, then init reaps it; a piped one
 * (`run`) is reaped with waitpid once its output has ended. Each child
 * inherits the calling thread's namespaces, like any forked child, and
 * starts with every signal at its default and none blocked (Node ignores
 * SIGPIPE, which a child would otherwise inherit).
 */
import { constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { errnoName } from './ffi.js';

type Koffi = typeof import('koffi');

/** glibc x86-64/arm64 sizes, rounded up: the buffers are only handed to the *_init functions. */
const ATTR_SIZE = 512;
const FILE_ACTIONS_SIZE = 128;
const SIGSET_SIZE = 128;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const O_CLOEXEC = 0o2000000;
const WNOHANG = 1;
const EINTR = 4;
const ECHILD = 10;

interface SpawnLibc {
  errno(): number;
  pipe2(fds: Int32Array, flags: number): number;
  close(fd: number): number;
  waitpid(pid: number, status: Int32Array, options: number): number;
  spawnp(pid: number[], file: string, actions: Buffer, attr: Buffer, argv: (string | null)[], envp: (string | null)[]): number;
  attrInit(attr: Buffer): number;
  attrDestroy(attr: Buffer): number;
  attrSetFlags(attr: Buffer, flags: number): number;
  attrSetSigDefault(attr: Buffer, set: Buffer): number;
  attrSetSigMask(attr: Buffer, set: Buffer): number;
  actionsInit(actions: Buffer): number;
  actionsDestroy(actions: Buffer): number;
  actionsAddOpen(actions: Buffer, fd: number, path: string, flags: number, mode: number): number;
  actionsAddDup2(actions: Buffer, fd: number, newfd: number): number;
  sigFillSet(set: Buffer): number;
  sigEmptySet(set: Buffer): number;
}

let libc: SpawnLibc | null | undefined;

function load(): SpawnLibc | null {
  if (libc !== undefined) return libc;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch {
    return (libc = null);
  }
  const lib = koffi.load('libc.so.6');
  libc = {
    errno: () => koffi.errno(),
    pipe2: lib.func('int pipe2(int *fds, int flags)'),
    close: lib.func('int close(int fd)'),
    waitpid: lib.func('int waitpid(int pid, int *status, int options)'),
    spawnp: lib.func('int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)'),
    attrInit: lib.func('int posix_spawnattr_init(void *attr)'),
    attrDestroy: lib.func('int posix_spawnattr_destroy(void *attr)'),
    attrSetFlags: lib.func('int posix_spawnattr_setflags(void *attr, short flags)'),
    attrSetSigDefault: lib.func('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
    attrSetSigMask: lib.func('int posix_spawnattr_setsigmask(void *attr, void *set)'),
    actionsInit: lib.func('int posix_spawn_file_actions_init(void *actions)'),
    actionsDestroy: lib.func('int posix_spawn_file_actions_destroy(void *actions)'),
    actionsAddOpen: lib.func('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)'),
    actionsAddDup2: lib.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
    sigFillSet: lib.func('int sigfillset(void *set)'),
    sigEmptySet: lib.func('int sigemptyset(void *set)'),
  };
  return libc;
}

function sys(): SpawnLibc {
  const l = load();
  if (!l) throw new Error('cannot load koffi, needed to start processes; reinstall the dependencies (npm ci)');
  return l;
}

/** Whether children can be started this way here (koffi loads). */
export function posixSpawnAvailable(): boolean {
  return load() !== null;
}

/** A failed posix_spawnp: `code` is the errno's name (ENOENT when the program is not on PATH). */
export class PosixSpawnError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PosixSpawnError';
  }
}

/** posix_spawnp with default signals, an empty mask, `flags` and the file actions `fill` adds. */
function spawnWith(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, flags: number, fill: (l: SpawnLibc, actions: Buffer) => void): number {
  const [file] = argv;
  if (!file) throw new Error('cannot start an empty command');
  const l = sys();
  const attr = Buffer.alloc(ATTR_SIZE);
  const actions = Buffer.alloc(FILE_ACTIONS_SIZE);
  const all = Buffer.alloc(SIGSET_SIZE);
  const none = Buffer.alloc(SIGSET_SIZE);
  l.attrInit(attr);
  l.actionsInit(actions);
  try {
    l.sigFillSet(all);
    l.sigEmptySet(none);
    l.attrSetSigDefault(attr, all);
    l.attrSetSigMask(attr, none);
    l.attrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | flags);
    fill(l, actions);
    const envp = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const pid = [0];
    const rc = l.spawnp(pid, file, actions, attr, [...argv, null], [...envp, null]);
    if (rc !== 0) {
      const { code, text } = errnoName(rc);
      throw new PosixSpawnError(code, `cannot start ${argv.join(' ')}: posix_spawnp: ${code} (${text})${code === 'ENOENT' ? `; is ${file} installed and on PATH?` : ''}`);
    }
    return pid[0]!;
  } finally {
    l.actionsDestroy(actions);
    l.attrDestroy(attr);
  }
}

/**
 * Starts `argv` (found on PATH) with `env`, in a session of its own, stdin,
 * stdout and stderr on /dev/null. Returns its pid; throws a PosixSpawnError
 * when it cannot be started.
 */
export function posixSpawnDetached(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): number {
  return spawnWith(argv, env, POSIX_SPAWN_SETSID, (l, actions) => {
    l.actionsAddOpen(actions, 0, '/dev/null', fsConstants.O_RDONLY, 0);
    l.actionsAddOpen(actions, 1, '/dev/null', fsConstants.O_WRONLY, 0);
    l.actionsAddOpen(actions, 2, '/dev/null', fsConstants.O_WRONLY, 0);
  });
}

/** A child with pipes on its stdin, stdout and stderr; the three fds are the parent's ends, close-on-exec. */
export interface PipedChild {
  pid: number;
  stdin: number;
  stdout: number;
  stderr: number;
}

function pipe(l: SpawnLibc): [number, number] {
  const fds = new Int32Array(2);
  if (l.pipe2(fds, O_CLOEXEC) !== 0) {
    const { code, text } = errnoName(l.errno());
    throw new Error(`cannot make a pipe for a child process: ${code} (${text})`);
  }
  return [fds[0]!, fds[1]!];
}

/**
 * Starts `argv` with pipes on its stdio. The caller owns the three fds
 * (hand them to `net.Socket`) and must reap the child with `reap` once it
 * has ended; throws a PosixSpawnError when it cannot be started.
 */
export function posixSpawnPiped(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): PipedChild {
  const l = sys();
  const made: number[] = [];
  try {
    const [inRead, inWrite] = pipe(l);
    made.push(inRead, inWrite);
    const [outRead, outWrite] = pipe(l);
    made.push(outRead, outWrite);
    const [errRead, errWrite] = pipe(l);
    made.push(errRead, errWrite);
    // dup2 onto 0, 1 and 2 clears close-on-exec there; every pipe end itself closes at exec.
    const pid = spawnWith(argv, env, 0, (lib, actions) => {
      lib.actionsAddDup2(actions, inRead, 0);
      lib.actionsAddDup2(actions, outWrite, 1);
      lib.actionsAddDup2(actions, errWrite, 2);
    });
    for (const fd of [inRead, outWrite, errWrite]) l.close(fd);
    return { pid, stdin: inWrite, stdout: outRead, stderr: errRead };
  } catch (err) {
    for (const fd of made) l.close(fd);
    throw err;
  }
}

/** How a reaped child ended. */
export interface ChildExit {
  code: number | null;
  signal: number | null;
}

/**
 * Reaps the child if it has ended (waitpid WNOHANG): how it ended, or
 * undefined while it still runs.
 */
export function reap(pid: number): ChildExit | undefined {
  const l = sys();
  for (;;) {
    const status = new Int32Array(1);
    const rc = l.waitpid(pid, status, WNOHANG);
    if (rc === pid) {
      const s = status[0]!;
      return (s & 0x7f) === 0 ? { code: (s >> 8) & 0xff, signal: null } : { code: null, signal: s & 0x7f };
    }
    if (rc === 0) return undefined;
    const errno = l.errno();
    if (errno === EINTR) continue;
    // Not our child, or reaped already: nothing more will come of it.
    if (errno === ECHILD) return { code: null, signal: null };
    const { code, text } = errnoName(errno);
    throw new Error(`waitpid ${pid}: ${code} (${text})`);
  }
}
