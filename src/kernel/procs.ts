/**
 * Processes the lab starts carry `KUBE_NETLAB_LAB=<owner>` in their
 * environment (the owner names the lab and its run directory), so `down`
 * finds them even when the state directory is gone
 * (a `kill -9` of `up` half-way). Processes inside a lab namespace that the
 * lab did not start (a user's `lab exec` shell) are found by namespace inode.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { sleep } from '../util/concurrency.js';
import { posixSpawnDetached } from './posix-spawn.js';

export const LAB_ENV = 'KUBE_NETLAB_LAB';

function ownerOf(pid: number): string | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    for (const entry of env.split('\0')) {
      if (entry.startsWith(`${LAB_ENV}=`)) return entry.slice(LAB_ENV.length + 1);
    }
  } catch {
    // The process exited while we looked.
  }
  return undefined;
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => p !== process.pid);
}

/** Owner → pids of the processes it started; all owners, or those `accept` keeps. */
export function markedProcesses(accept: (owner: string) => boolean = () => true): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const pid of pids()) {
    const owner = ownerOf(pid);
    if (owner === undefined || !accept(owner)) continue;
    out.set(owner, [...(out.get(owner) ?? []), pid]);
  }
  return out;
}

/** Pids of processes whose network namespace is one of the given netns files. */
export function processesInNamespaces(netnsPaths: string[]): number[] {
  const inodes = new Set<string>();
  for (const p of netnsPaths) {
    try {
      inodes.add(`net:[${statSync(p).ino}]`);
    } catch {
      // Already deleted.
    }
  }
  if (inodes.size === 0) return [];
  return pids().filter((pid) => {
    try {
      return inodes.has(readlinkSync(`/proc/${pid}/ns/net`));
    } catch {
      return false;
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it is gone for our purposes.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL whatever is still there after `graceMs`. */
export async function killAll(pidList: number[], graceMs = 500): Promise<void> {
  const targets = [...new Set(pidList)];
  for (const pid of targets) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + graceMs;
  let left = targets.filter(alive);
  while (left.length && Date.now() < deadline) {
    await sleep(20);
    left = left.filter(alive);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export interface DetachedOptions {
  /** Marker value that `markedProcesses` reports this process under. */
  owner: string;
  /** File descriptor for stdout and stderr; ignored when absent. */
  logFd?: number;
  env?: Record<string, string>;
}

/**
 * The environment of the processes the lab starts: the caller's, marked
 * with the owner, without NODE_EXTRA_CA_CERTS. Node reads that bundle at
 * every start (80 ms on a 2-core machine, for each of the agent and the
 * daemons it starts at once), and no lab process needs it: their traffic
 * never leaves the lab, and what the ingress controllers serve is signed by
 * the lab's own CA.
 */
export function labEnv(owner: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _unused, ...env } = process.env;
  return { ...env, ...extra, [LAB_ENV]: owner };
}

/** Starts a process that outlives the CLI, marked as belonging to `owner`. */
export function spawnDetached(argv: string[], opts: DetachedOptions): number {
  const [file, ...args] = argv;
  const child = spawn(file!, args, {
    detached: true,
    stdio: ['ignore', opts.logFd ?? 'ignore', opts.logFd ?? 'ignore'],
    env: labEnv(opts.owner, opts.env),
  });
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
  child.unref();
  return child.pid;
}

/**
 * The same for a process with no output, started without copying Node's
 * memory (posix-spawn.ts): the pause processes, a thousand of them in a
 * large lab. Node never reaps it; it is meant to outlive the caller.
 */
export function spawnDetachedLight(argv: string[], owner: string): number {
  return posixSpawnDetached(argv, labEnv(owner));
}

export function isAlive(pid: number): boolean {
  return alive(pid);
}
