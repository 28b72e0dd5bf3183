/**
 * Starting a long-lived process with posix_spawn(3) through koffi. Node's
 * own spawn forks this process, copying its page tables, which on this kind
 * of machine costs several milliseconds per child and grows with the plan a
 * large lab holds in memory; glibc's posix_spawn shares the memory until the
 * child has exec'd (vfork), so a thousand pause processes cost a thousand
 * execs, not a thousand copies of Node.
 *
 * Only for processes that outlive their parent and whose exit nobody waits
 * for (the pause processes): Node does not know the child, so it never reaps
 * it; once the parent exits the child's parent is init, which does. The
 * child inherits the calling thread's namespaces, like any forked child.
 */
import { constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { getSystemErrorMap } from 'node:util';

type Koffi = typeof import('koffi');

/** glibc x86-64/arm64 sizes, rounded up: the buffers are only handed to the *_init functions. */
const ATTR_SIZE = 512;
const FILE_ACTIONS_SIZE = 128;
const SIGSET_SIZE = 128;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;

interface SpawnLibc {
  spawnp(pid: number[], file: string, actions: Buffer, attr: Buffer, argv: (string | null)[], envp: (string | null)[]): number;
  attrInit(attr: Buffer): number;
  attrDestroy(attr: Buffer): number;
  attrSetFlags(attr: Buffer, flags: number): number;
  attrSetSigDefault(attr: Buffer, set: Buffer): number;
  attrSetSigMask(attr: Buffer, set: Buffer): number;
  actionsInit(actions: Buffer): number;
  actionsDestroy(actions: Buffer): number;
  actionsAddOpen(actions: Buffer, fd: number, path: string, flags: number, mode: number): number;
  sigFillSet(set: Buffer): number;
  sigEmptySet(set: Buffer): number;
}

let libc: SpawnLibc | undefined;

function sys(): SpawnLibc {
  if (libc) return libc;
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  libc = {
    spawnp: lib.func('int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)'),
    attrInit: lib.func('int posix_spawnattr_init(void *attr)'),
    attrDestroy: lib.func('int posix_spawnattr_destroy(void *attr)'),
    attrSetFlags: lib.func('int posix_spawnattr_setflags(void *attr, short flags)'),
    attrSetSigDefault: lib.func('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
    attrSetSigMask: lib.func('int posix_spawnattr_setsigmask(void *attr, void *set)'),
    actionsInit: lib.func('int posix_spawn_file_actions_init(void *actions)'),
    actionsDestroy: lib.func('int posix_spawn_file_actions_destroy(void *actions)'),
    actionsAddOpen: lib.func('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)'),
    sigFillSet: lib.func('int sigfillset(void *set)'),
    sigEmptySet: lib.func('int sigemptyset(void *set)'),
  };
  return libc;
}

/**
 * Starts `argv` (found on PATH) with `env`, in a session of its own, stdin,
 * stdout and stderr on /dev/null, every signal at its default and none
 * blocked (Node ignores SIGPIPE, which a child would otherwise inherit).
 * Returns its pid; throws with the errno when it cannot be started.
 */
export function posixSpawnDetached(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): number {
  const [file] = argv;
  if (!file) throw new Error('posixSpawnDetached: empty command');
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
    l.attrSetFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    l.actionsAddOpen(actions, 0, '/dev/null', fsConstants.O_RDONLY, 0);
    l.actionsAddOpen(actions, 1, '/dev/null', fsConstants.O_WRONLY, 0);
    l.actionsAddOpen(actions, 2, '/dev/null', fsConstants.O_WRONLY, 0);
    const envp = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    const pid = [0];
    const rc = l.spawnp(pid, file, actions, attr, [...argv, null], [...envp, null]);
    if (rc !== 0) {
      const [code, text] = getSystemErrorMap().get(-rc) ?? [`errno ${rc}`, 'unknown error'];
      throw new Error(`cannot start ${argv.join(' ')}: posix_spawnp: ${code} (${text})${code === 'ENOENT' ? `; is ${file} installed and on PATH?` : ''}`);
    }
    return pid[0]!;
  } finally {
    l.actionsDestroy(actions);
    l.attrDestroy(attr);
  }
}
