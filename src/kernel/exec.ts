/**
 * The one way the lab runs a program. Arguments are always an argv array
 * (never a shell string), so names from the lab file cannot be interpreted
 * by a shell. Failures become `CommandError`s that carry argv, stderr and the
 * context the caller gives ("configure pod default/web-1").
 */
import { execa } from 'execa';
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

export async function run(argv: string[], opts: RunOptions): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error(`${opts.context}: empty command`);
  const started = performance.now();
  const result = await execa(file, args, {
    input: opts.input,
    reject: false,
    timeout: opts.timeoutMs,
    env: opts.env,
    stripFinalNewline: false,
  });
  const durationMs = performance.now() - started;
  if (result.failed && (result as { code?: string }).code === 'ENOENT') {
    const pkg = PACKAGE_OF[file];
    throw new EnvironmentError(
      `${opts.context}: the program '${file}' is not installed`,
      pkg ? `Install it with 'apt-get install ${pkg}' or run 'sudo scripts/provision.sh'.` : undefined,
    );
  }
  const out: RunResult = {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    durationMs,
    timedOut: Boolean(result.timedOut),
  };
  if (out.exitCode !== 0 && !opts.allowFailure) {
    throw new CommandError(argv, out, opts.context, opts.input);
  }
  return out;
}
