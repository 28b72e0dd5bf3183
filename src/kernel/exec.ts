/**
 * The one way the lab runs a program. Arguments are always an argv array
 * (never a shell string), so names from the lab file cannot be interpreted
 * by a shell. Failures become `CommandError`s that carry argv, stderr and the
 * context the caller gives ("configure pod default/web-1").
 */
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { SyscallError, withNetns } from './ffi.js';
import { posixSpawnAvailable, posixSpawnPiped, PosixSpawnError, reap, type PipedChild } from './posix-spawn.js';
import { CommandError, EnvironmentError } from '../util/errors.js';

export interface RunOptions {
  /** What the command is for, shown first in error messages. */
  context: string;
  /** Text piped to stdin (ip -batch, iptables-restore, nft -f). */
  input?: string;
  timeoutMs?: number;
  /** Resolve instead of throwing when the command exits non-zero. */
  allowFailure?: boolean;
  env?: Record<string, string>;
  /**
   * Start the program inside this network namespace (a /run/netns path):
   * born there from a thread that entered it, as the pause processes are,
   * with the host's mounts. `ip -n` would instead copy the whole mount
   * table into a namespace of its own and mount /sys afresh, which with a
   * thousand namespaces (a bind mount each) costs more than the batch.
   */
  netnsPath?: string;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

/** Which Debian package provides each program the lab runs, for exit-3 messages. */
export const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2',
  bridge: 'iproute2',
  ping: 'iputils-ping',
  curl: 'curl',
  tcpdump: 'tcpdump',
  'iptables-restore': 'iptables',
  'iptables-save': 'iptables',
  iptables: 'iptables',
  nft: 'nftables',
  conntrack: 'conntrack',
  nsenter: 'util-linux',
  unshare: 'util-linux',
  sleep: 'coreutils',
  nice: 'coreutils',
  iperf3: 'iperf3',
  socat: 'socat',
  dig: 'dnsutils',
  nginx: 'nginx-light',
};

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: { code?: string; message: string };
}

/** Node's own spawn: where koffi cannot be loaded. */
function runForked(file: string, args: string[], env: NodeJS.ProcessEnv, opts: RunOptions): Promise<Outcome> {
  return new Promise((resolvePromise) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => ((timedOut = true), child.kill('SIGTERM')), opts.timeoutMs) : undefined;
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    // A program that exits without reading all its input (or never starts) closes the pipe: not an error of ours.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const done = (code: number | null, spawnError?: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), timedOut, ...(spawnError ? { spawnError } : {}) });
    };
    child.on('error', (err: NodeJS.ErrnoException) => done(null, err));
    child.on('close', (code) => done(code));
  });
}

/** How long to wait between waitpid checks for a child that has closed its output but not yet exited. */
const REAP_RETRY_MS = 1;

/**
 * posix_spawn with pipes (posix-spawn.ts): the same result as Node's spawn
 * without copying this process per command. Like Node's 'close', the
 * outcome comes once the output has ended and the child has exited.
 */
function runSpawned(file: string, args: string[], env: NodeJS.ProcessEnv, opts: RunOptions): Promise<Outcome> {
  let child: PipedChild;
  try {
    const where = opts.netnsPath;
    child = where ? withNetns(where, () => posixSpawnPiped([file, ...args], env)) : posixSpawnPiped([file, ...args], env);
  } catch (err) {
    // A namespace that cannot be entered (gone, or not one) fails the command as nsenter would: no exit code, the reason on stderr.
    if (err instanceof SyscallError) return Promise.resolve({ code: null, stdout: '', stderr: `${err.message}\n`, timedOut: false });
    if (!(err instanceof PosixSpawnError)) throw err;
    return Promise.resolve({ code: null, stdout: '', stderr: '', timedOut: false, spawnError: { code: err.code, message: err.message } });
  }
  const { pid } = child;
  return new Promise((resolvePromise) => {
    const stdin = new Socket({ fd: child.stdin, readable: false, writable: true });
    const streams = [new Socket({ fd: child.stdout, readable: true, writable: false }), new Socket({ fd: child.stderr, readable: true, writable: false })] as const;
    const output: [Buffer[], Buffer[]] = [[], []];
    let timedOut = false;
    let exited = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            if (!exited) process.kill(pid, 'SIGTERM');
          }, opts.timeoutMs)
        : undefined;
    let open = 2;
    const finish = () => {
      const ended = reap(pid);
      if (!ended) {
        setTimeout(finish, REAP_RETRY_MS);
        return;
      }
      exited = true;
      if (timer) clearTimeout(timer);
      resolvePromise({ code: ended.code, stdout: Buffer.concat(output[0]).toString('utf8'), stderr: Buffer.concat(output[1]).toString('utf8'), timedOut });
    };
    streams.forEach((stream, i) => {
      stream.on('data', (b: Buffer) => output[i]!.push(b));
      stream.on('error', () => {});
      stream.on('close', () => {
        if (--open === 0) finish();
      });
    });
    // A program that exits without reading all its input closes the pipe: not an error of ours.
    stdin.on('error', () => {});
    stdin.end(opts.input ?? '');
  });
}

/**
 * Runs one program to its end and collects its output, started with
 * posix_spawn where koffi loads (a command costs an exec, not a copy of
 * this process) and with Node's spawn otherwise.
 */
export async function run(argv: string[], opts: RunOptions): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error(`${opts.context}: empty command`);
  const started = performance.now();
  const env = opts.env ? { ...process.env, ...opts.env } : process.env;
  const result = posixSpawnAvailable()
    ? await runSpawned(file, args, env, opts)
    : opts.netnsPath
      ? await runForked('nsenter', [`--net=${opts.netnsPath}`, '--', file, ...args], env, opts)
      : await runForked(file, args, env, opts);
  const durationMs = performance.now() - started;
  if (result.spawnError?.code === 'ENOENT') {
    const pkg = PACKAGE_OF[file];
    throw new EnvironmentError(
      `${opts.context}: the program '${file}' is not installed`,
      pkg ? `Install it with 'apt-get install ${pkg}' or run 'sudo scripts/provision.sh'.` : undefined,
    );
  }
  const out: RunResult = {
    exitCode: result.code ?? -1,
    stdout: result.stdout,
    stderr: result.spawnError ? `${result.stderr}${result.spawnError.message}` : result.stderr,
    durationMs,
    timedOut: result.timedOut,
  };
  if (out.exitCode !== 0 && !opts.allowFailure) {
    throw new CommandError(argv, out, opts.context, opts.input);
  }
  return out;
}
