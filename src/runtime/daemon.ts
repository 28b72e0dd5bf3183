/**
 * The one way the lab's daemons run (the udp forwarder, the DNS servers,
 * the ingress controllers, the cloud load balancer):
 *
 *   node dist/components/<component>/main.js <runDir> --name <daemon> [--flag value]...
 *
 * - Each reads one config file of its own, `<runDir>/<daemonConfigFile>`
 *   (or the file its `configFlag` names), which the agent renders from the
 *   plan with the component's `daemons()`. It never reads the plan.
 * - The file is replaced by rename; the daemon reloads when it changes: the
 *   run directory is watched for its name, with a poll of its inode, mtime
 *   and size behind the watch, and SIGHUP reloads at once. Files in
 *   `alsoWatch` (data the agent republishes, such as endpoints) trigger a
 *   reload too. Reloads never overlap; a config that cannot be read or
 *   parsed keeps the running one, and says so in the log.
 * - One timestamped log line per event on stdout (the agent sends it to
 *   `<daemon>.log`); the state file, written atomically, says the daemon
 *   serves (the agent calls it ready when the pid in it is the running one).
 * - SIGTERM or SIGINT: `stop()`, then exit 0 (at the latest after a grace
 *   period); the same when the process that started it (the agent) is gone,
 *   noticed by the config poll, so a killed agent leaves no daemon behind; `fatal()` or an error at start: exit 1, for the agent to
 *   restart it.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { daemonConfigFile, daemonStateFile } from '../model/daemons.js';
import { fileIdentity, writeAtomic } from '../util/files.js';
import { log, type Logger } from './log.js';

/** The safety net behind the directory watch. */
export const CONFIG_POLL_MS = 1000;
/** How long SIGTERM waits for `stop()` before exiting anyway. */
const STOP_GRACE_MS = 2000;

export interface DaemonContext {
  runDir: string;
  name: string;
  /** `--flag value` pairs after `--name`, without the dashes. */
  flags: ReadonlyMap<string, string>;
  /** The config file, absolute. */
  configPath: string;
  log: Logger;
  /** Replaces the state file atomically with `{ pid, ...state }`. */
  writeState(state: object): void;
  /** Logs and exits 1, for the agent to restart the daemon. */
  fatal(err: Error): never;
}

export interface Daemon<C> {
  /** Starts serving the first config. */
  start(config: C): Promise<void>;
  /**
   * A changed config (`change`), a data file in `alsoWatch` (`data`), or
   * SIGHUP. Throwing keeps the running config; the error is logged.
   */
  reload(config: C, why: 'change' | 'data' | 'SIGHUP'): Promise<void> | void;
  /** Closes everything; the process exits 0 after it. */
  stop(): Promise<void> | void;
}

export interface DaemonDefinition<C> {
  /** The usage line's program, e.g. `components/udp/main.js`. */
  program: string;
  /** Flags besides `--name`, with their meaning for the usage line. */
  flags?: Readonly<Record<string, string>>;
  /** A flag whose value names the config file (relative to runDir), instead of the daemon's own. */
  configFlag?: string;
  /** Files in the run directory whose change also reloads. */
  alsoWatch?: readonly string[];
  /** The config file's text → the config; throws saying what is wrong with it. */
  parse(text: string, path: string): C;
  create(ctx: DaemonContext): Daemon<C>;
}

/** What the command line of a daemon is made of. */
export type DaemonArgs = Pick<DaemonDefinition<unknown>, 'program' | 'flags' | 'configFlag'>;

function usage(def: DaemonArgs): string {
  const flags = Object.entries(def.flags ?? {}).map(([f, what]) => ` [--${f} ${what}]`);
  return `usage: node dist/${def.program} <runDir> --name <daemon>${flags.join('')}`;
}

/** `<runDir> --name N --flag value ...`; undefined with a reason when it is not that. */
export function parseDaemonArgs(argv: readonly string[], def: DaemonArgs): { runDir: string; name: string; flags: Map<string, string> } | string {
  const [runDir, ...rest] = argv;
  if (!runDir || runDir.startsWith('--')) return usage(def);
  const known = new Set(['name', ...Object.keys(def.flags ?? {})]);
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]!;
    const value = rest[i + 1];
    if (!key.startsWith('--') || !known.has(key.slice(2))) return `unknown argument '${key}'; ${usage(def)}`;
    if (value === undefined) return `${key} needs a value; ${usage(def)}`;
    flags.set(key.slice(2), value);
  }
  const name = flags.get('name');
  if (!name) return `--name is required; ${usage(def)}`;
  if (def.configFlag && !flags.has(def.configFlag)) return `--${def.configFlag} is required; ${usage(def)}`;
  flags.delete('name');
  return { runDir, name, flags };
}

function identity(path: string): string {
  try {
    return fileIdentity(path);
  } catch {
    return '';
  }
}

/** Runs a daemon to its end: arguments, config, reloads, signals. */
export function runDaemon<C>(def: DaemonDefinition<C>, argv: readonly string[] = process.argv.slice(2)): void {
  const args = parseDaemonArgs(argv, def);
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n`);
    process.exit(2);
  }
  const { runDir, name, flags } = args;
  const configName = def.configFlag ? flags.get(def.configFlag)! : daemonConfigFile({ name });
  const configPath = isAbsolute(configName) ? configName : join(runDir, configName);
  const statePath = join(runDir, daemonStateFile({ name }));
  let stopping = false;
  const fatal = (err: Error): never => {
    log(`${name}: fatal: ${err.message}; exiting for the agent to restart it`);
    process.exit(1);
  };
  const ctx: DaemonContext = {
    runDir,
    name,
    flags,
    configPath,
    log,
    writeState(state) {
      try {
        writeAtomic(statePath, `${JSON.stringify({ pid: process.pid, ...state }, null, 2)}\n`);
      } catch (err) {
        log(`${name}: cannot write the state file ${statePath}: ${(err as Error).message}`);
      }
    },
    fatal,
  };
  const read = (): { config: C; text: string } => {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${configPath}: ${(err as Error).message}; the agent writes it before it starts the daemon`);
    }
    return { config: def.parse(text, configPath), text };
  };

  let daemon: Daemon<C>;
  try {
    daemon = def.create(ctx);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  let started = false;
  let seen = '';
  let lastText = '';
  let running: Promise<void> | undefined;
  let again: 'change' | 'data' | 'SIGHUP' | undefined;
  const reload = (why: 'change' | 'data' | 'SIGHUP'): void => {
    if (!started || stopping) return;
    if (running) {
      // The strongest reason wins: a SIGHUP asked for during a reload still forces one after it.
      again = again === 'SIGHUP' || why === 'SIGHUP' ? 'SIGHUP' : again === 'data' || why === 'data' ? 'data' : 'change';
      return;
    }
    running = (async () => {
      const now = identity(configPath);
      if (why === 'change' && (now === seen || now === '')) return;
      seen = now;
      let next: { config: C; text: string };
      try {
        next = read();
      } catch (err) {
        log(`${name}: reload (${why}) failed, keeping the running config: ${(err as Error).message}`);
        return;
      }
      if (why === 'change' && next.text === lastText) return;
      try {
        await daemon.reload(next.config, why);
        lastText = next.text;
      } catch (err) {
        log(`${name}: reload (${why}) failed, keeping the running config: ${(err as Error).message}`);
      }
    })().finally(() => {
      running = undefined;
      const next = again;
      again = undefined;
      if (next) reload(next);
    });
  };

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${name}: ${signal}, stopping`);
    watcher?.close();
    clearInterval(poll);
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    void Promise.resolve()
      .then(() => (started ? daemon.stop() : undefined))
      .then(
        () => process.exit(0),
        () => process.exit(0),
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => reload('SIGHUP'));
  process.on('uncaughtException', (err) => fatal(err));

  // The config and the data files are replaced by rename: the directory of each is watched for its name.
  let watcher: FSWatcher | undefined;
  const watched = new Map<string, 'change' | 'data'>([[basename(configPath), 'change'], ...(def.alsoWatch ?? []).map((f) => [f, 'data'] as [string, 'data'])]);
  const dataIds = new Map((def.alsoWatch ?? []).map((f) => [f, identity(join(runDir, f))]));
  try {
    watcher = watch(dirname(configPath), (_event, file) => {
      const why = file === null ? 'change' : watched.get(file.toString());
      if (why === 'data') dataIds.set(file!.toString(), identity(join(runDir, file!.toString())));
      if (why) reload(why);
    });
    watcher.on('error', (err) => log(`${name}: watch of ${dirname(configPath)} failed (${err.message}); polling every ${CONFIG_POLL_MS} ms only`));
  } catch (err) {
    log(`${name}: cannot watch ${dirname(configPath)} (${(err as Error).message}); polling every ${CONFIG_POLL_MS} ms only`);
  }
  const parent = process.ppid;
  const poll = setInterval(() => {
    // Reparented: the agent was killed outright. Its successor starts a daemon of its own.
    if (process.ppid !== parent) return stop(`the process that started it (${parent}) is gone`);
    reload('change');
    for (const [file, id] of dataIds) {
      const now = identity(join(runDir, file));
      if (now !== id) {
        dataIds.set(file, now);
        reload('data');
      }
    }
  }, CONFIG_POLL_MS);

  log(`${name}: ${def.program} ${process.pid} starting in ${runDir}`);
  void (async () => {
    const first = read();
    seen = identity(configPath);
    lastText = first.text;
    await daemon.start(first.config);
    started = true;
  })().catch((err: unknown) => fatal(err instanceof Error ? err : new Error(String(err))));
}
