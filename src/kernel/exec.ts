/**
 * The one way the lab runs a program. Arguments are always an argv array
 * (never a shell string), so names from the lab file cannot be interpreted
 * by a shell. Failures become `CommandError`s that carry argv, stderr and the
 * context the caller gives ("configure pod default/web-1").
 */
import { spawn } from 'node:child_process';
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
  iperf3: 'iperf3',
  socat: 'socat',
  dig: 'dnsutils',
  nginx: 'nginx-light',
};

/**
 * Runs one program to its end and collects its output. Plain
 * `child_process.spawn`: the lab starts many short commands, and a CLI verb
 * that loads no process library starts faster (`check` runs in well under a
 * second).
 */
export async function run(argv: string[], opts: RunOptions): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error(`${opts.context}: empty command`);
  const started = performance.now();
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean; spawnError?: NodeJS.ErrnoException }>((resolvePromise) => {
    const child = spawn(file, args, { env: opts.env ? { ...process.env, ...opts.env } : process.env, stdio: ['pipe', 'pipe', 'pipe'] });
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
