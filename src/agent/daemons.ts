/**
 * Supervises the node-level daemons of a plan: each runs as its own process
 * inside its node's network namespace (`nsenter --net`), is restarted with
 * the container backoff when it exits, and is stopped with the agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonConfigFile, daemonLogFile, daemonStateFile, type DaemonSpec } from '../model/daemons.js';
import { writeAtomic } from '../util/files.js';
import { killAll } from '../kernel/procs.js';
import { nextBackoff } from './backoff.js';
import type { Logger } from '../runtime/log.js';
import { parentPid, STARTER_ENV } from '../runtime/daemon.js';
import { renice } from '../runtime/boot-priority.js';

export interface DaemonStatus {
  name: string;
  netns: string;
  state: 'running' | 'waiting' | 'stopped';
  pid?: number;
  /** Running and serving: it has written its state file with its own pid. */
  ready: boolean;
  restartCount: number;
  lastExit?: string;
  /** The daemon's log, for whoever must say why it is not ready. */
  log: string;
}

function entryOf(spec: DaemonSpec): string {
  return fileURLToPath(new URL(`../${spec.module}/main.js`, import.meta.url));
}

class Daemon {
  child?: ChildProcess;
  restartCount = 0;
  lastExit?: string;
  private steps = 0;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly spec: DaemonSpec,
    private readonly runDir: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.stopped) return;
    const logFd = openSync(join(this.runDir, daemonLogFile(this.spec)), 'a');
    try {
      this.child = spawn(
        'nsenter',
        [`--net=/run/netns/${this.spec.netns}`, '--', process.execPath, entryOf(this.spec), this.runDir, ...this.spec.args],
        { stdio: ['ignore', logFd, logFd], env: { ...process.env, [STARTER_ENV]: String(process.pid) } },
      );
    } finally {
      closeSync(logFd);
    }
    this.startedAt = Date.now();
    this.log(`daemon ${this.spec.name} started (pid ${this.child.pid}) in ${this.spec.netns}`);
    const child = this.child;
    child.on('error', (err) => this.exited(child, `could not start: ${err.message}`));
    child.on('exit', (code, signal) => this.exited(child, signal ? `killed by ${signal}` : `exited ${code}`));
  }

  private exited(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.lastExit = why;
    if (this.stopped) return;
    const { delayMs, steps } = nextBackoff(this.steps, Date.now() - this.startedAt);
    this.steps = steps;
    this.restartCount++;
    this.log(`daemon ${this.spec.name} ${why}; restarting in ${delayMs} ms`);
    this.timer = setTimeout(() => this.start(), delayMs);
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.child?.kill('SIGTERM');
  }

  private ready(): boolean {
    const pid = this.child?.pid;
    if (!pid) return false;
    try {
      return (JSON.parse(readFileSync(join(this.runDir, daemonStateFile(this.spec)), 'utf8')) as { pid?: unknown }).pid === pid;
    } catch {
      return false;
    }
  }

  status(): DaemonStatus {
    return {
      name: this.spec.name,
      netns: this.spec.netns,
      state: this.stopped ? 'stopped' : this.child?.pid ? 'running' : 'waiting',
      ...(this.child?.pid ? { pid: this.child.pid } : {}),
      ready: !this.stopped && this.ready(),
      restartCount: this.restartCount,
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
      log: join(this.runDir, daemonLogFile(this.spec)),
    };
  }
}

export class DaemonSupervisor {
  private daemons = new Map<string, Daemon>();
  /** The config text each daemon's file holds. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly runDir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Writes every daemon's config (a daemon on the runtime reloads when its
   * file changes), starts new daemons and stops removed ones; a daemon whose
   * command line changed is restarted.
   */
  apply(specs: DaemonSpec[]): void {
    for (const spec of specs) this.writeConfig(spec);
    const commandLine = (s: DaemonSpec) => JSON.stringify({ ...s, config: undefined });
    const wanted = new Map(specs.map((s) => [s.name, s]));
    for (const [name, d] of this.daemons) {
      const next = wanted.get(name);
      if (!next || commandLine(next) !== commandLine(d.spec)) {
        d.stop();
        this.daemons.delete(name);
      }
    }
    this.prestart(specs);
  }

  /**
   * Starts daemons before their config files exist (`up` lists its plan's
   * daemons while the kernel objects are built): each boots and waits for
   * its file, which `apply()` writes once the plan is loaded. `apply()` keeps
   * a started daemon whose command line is the same.
   */
  prestart(specs: DaemonSpec[]): void {
    for (const spec of specs) {
      if (this.daemons.has(spec.name)) continue;
      const d = new Daemon(spec, this.runDir, this.log);
      this.daemons.set(spec.name, d);
      d.start();
    }
  }

  /** Every daemon started niced before the plan (still booting, maybe) to normal priority: the plan is here. */
  endBootPriority(): void {
    for (const d of this.daemons.values()) if (d.child?.pid) renice(d.child.pid);
  }

  /** The config file, replaced by rename when its text changes (a reader never sees half of it). */
  private writeConfig(spec: DaemonSpec): void {
    if (spec.config === undefined) return;
    const text = `${JSON.stringify(spec.config, null, 2)}\n`;
    if (this.written.get(spec.name) === text) return;
    writeAtomic(join(this.runDir, daemonConfigFile(spec)), text);
    this.written.set(spec.name, text);
  }

  status(): DaemonStatus[] {
    return [...this.daemons.values()].map((d) => d.status());
  }

  /**
   * Kills the daemons running in a namespace (the program of a container that
   * was killed: a cluster DNS pod's server), as a container's process dies;
   * each is restarted with the backoff like any daemon that exits. Returns
   * their names.
   */
  killIn(netns: string): string[] {
    const hit = [...this.daemons.values()].filter((d) => d.spec.netns === netns && d.child);
    for (const d of hit) d.signal('SIGKILL');
    return hit.map((d) => d.spec.name);
  }

  stopAll(): void {
    for (const d of this.daemons.values()) d.stop();
    this.daemons.clear();
  }
}

/** How long a predecessor's daemon gets to stop (its own grace is 2 s) before SIGKILL. */
const PREDECESSOR_GRACE_MS = 2500;

/**
 * Stops the daemons an agent of this run directory left behind when it was
 * killed outright: they still hold their ports (DNS on 53, nginx on 80), so
 * the new agent's own would fail to bind. They are found by their command
 * line, `node <entry> <runDir> --name <daemon>`; SIGTERM lets each stop what
 * it runs (an ingress controller its nginx). Returns what was stopped.
 */
export async function stopPredecessorDaemons(runDir: string): Promise<string[]> {
  const found: Array<{ pid: number; name: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    // This agent's own children (daemons it prestarted) are not a predecessor's.
    if (args[1]?.endsWith('/main.js') && args[2] === runDir && args[3] === '--name' && args[4] && parentPid(Number(entry)) !== process.pid) found.push({ pid: Number(entry), name: args[4] });
  }
  await killAll(found.map((f) => f.pid), PREDECESSOR_GRACE_MS);
  return found.map((f) => `${f.name} (pid ${f.pid})`);
}
