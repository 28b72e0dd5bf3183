/**
 * The one way the lab's long-running processes run: the agent, and the
 * daemons it starts (the udp forwarder, the DNS servers, the ingress
 * controllers, the cloud load balancer):
 *
 *   node dist/components/<component>/main.js <runDir> --name <daemon> [--flag value]...
 *   node dist/agent/main.js <runDir>          (one per run directory: its name is fixed)
 *
 * - Each reads one config file of its own, `<runDir>/<daemonConfigFile>`
 *   (or the file its `configFlag` names), which the agent renders from the
 *   plan with the component's `daemons()`. A daemon never reads the plan;
 *   the agent's config is the plan, which `up` and `apply` write.
 * - The file is replaced by rename; the daemon reloads when it changes: the
 *   run directory is watched for its name, with a poll of its inode, mtime
 *   and size behind the watch, and SIGHUP reloads at once. Files in
 *   `alsoWatch` (data the agent republishes, such as endpoints) trigger a
 *   reload too. Reloads never overlap; a config that cannot be read or
 *   parsed keeps the running one, and says so in the log. A reload the
 *   process asks for itself (the agent's POST /reload) loads the file as
 *   it is now, unless it is already loaded, and returns the result or the
 *   reason it could not.
 * - One timestamped log line per event on stdout (the agent sends it to
 *   `<daemon>.log`); the state file `<name>.json`, written atomically, says
 *   it serves (whoever waits for it checks that the pid in it is running).
 * - A process may start before its config file exists: it says so, and
 *   starts serving when the watch (or the poll) sees the file. `up` starts
 *   the agent, and the agent the lab's daemons, while the kernel objects are
 *   built, so the Node.js boot of each is done by the time its file comes.
 * - SIGTERM or SIGINT: `stop()`, then exit 0 (at the latest after a grace
 *   period). A daemon does the same when the process that started it (the
 *   agent) is gone, noticed by the config poll, so a killed agent leaves no
 *   daemon behind. `fatal()`, an uncaught error or an error at start:
 *   `stop()` as far as it gets, then exit 1; the agent starts such a daemon
 *   again, and `up` reports an agent that exits so.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { daemonConfigFile, daemonStateFile } from '../model/daemons.js';
import { fileIdentity, writeAtomic } from '../util/files.js';
import { log, type Logger } from './log.js';
import { endBootPriority } from './boot-priority.js';

/** The safety net behind the directory watch. */
export const CONFIG_POLL_MS = 1000;
/** How long SIGTERM waits for `stop()` before exiting anyway. */
const STOP_GRACE_MS = 2000;

/** What makes a reload: the config file changed, a watched data file changed, SIGHUP, or the process asked for one. */
export type ReloadReason = 'change' | 'data' | 'SIGHUP' | 'request';

export interface DaemonContext<R = void> {
  runDir: string;
  name: string;
  /** `--flag value` pairs after `--name`, without the dashes. */
  flags: ReadonlyMap<string, string>;
  /** The config file, absolute. */
  configPath: string;
  log: Logger;
  /** Replaces the state file atomically with `{ pid, ...state }`. */
  writeState(state: object): void;
  /** Logs and exits 1 (the agent restarts a daemon that exits so). */
  fatal(err: Error): never;
  /**
   * Loads the config file as it is now, in turn with the other reloads, and
   * returns that reload's result (the last one's when the file is the text
   * already loaded). Rejects with the reason when the file cannot be used;
   * the running config stays.
   */
  requestReload(): Promise<R>;
}

export interface Daemon<C, R = void> {
  /** Starts serving the first config; what it returns is that load's result, for `requestReload()`. */
  start(config: C): Promise<R | void>;
  /**
   * A changed config (`change`), a data file in `alsoWatch` (`data`),
   * SIGHUP, or `requestReload()`. Throwing keeps the running config; the
   * error is logged (and given to the one who asked).
   */
  reload(config: C, why: ReloadReason): Promise<R> | R;
  /** Closes everything; the process exits after it. */
  stop(): Promise<void> | void;
}

export interface DaemonDefinition<C, R = void> {
  /** The usage line's program, e.g. `components/udp/main.js`. */
  program: string;
  /** A process that runs once per run directory (the agent) has its name here, and takes no `--name`. */
  name?: string;
  /** Flags besides `--name`, with their meaning for the usage line. */
  flags?: Readonly<Record<string, string>>;
  /** A flag whose value names the config file (relative to runDir), instead of the daemon's own. */
  configFlag?: string;
  /** The config file's name in the run directory, when it is not the daemon's own (the agent's plan.json). */
  configFile?: string;
  /** Who writes the config file, for the error when it is missing. Default: the agent. */
  configWriter?: string;
  /**
   * Whether being orphaned stops it. A daemon stops (its agent is gone, and
   * the next agent starts its own); the agent keeps serving when its restart
   * loop is gone, as a kubelet keeps running while systemd restarts.
   */
  stopWhenOrphaned?: boolean;
  /** Files in the run directory whose change also reloads. */
  alsoWatch?: readonly string[];
  /** The config file's text → the config; throws saying what is wrong with it. */
  parse(text: string, path: string): C;
  create(ctx: DaemonContext<R>): Daemon<C, R>;
}

/** What the command line of a daemon is made of. */
export type DaemonArgs = Pick<DaemonDefinition<unknown, unknown>, 'program' | 'name' | 'flags' | 'configFlag'>;

function usage(def: DaemonArgs): string {
  const flags = Object.entries(def.flags ?? {}).map(([f, what]) => ` [--${f} ${what}]`);
  return `usage: node dist/${def.program} <runDir>${def.name ? '' : ' --name <daemon>'}${flags.join('')}`;
}

/** `<runDir> --name N --flag value ...`; undefined with a reason when it is not that. */
export function parseDaemonArgs(argv: readonly string[], def: DaemonArgs): { runDir: string; name: string; flags: Map<string, string> } | string {
  const [runDir, ...rest] = argv;
  if (!runDir || runDir.startsWith('--')) return usage(def);
  const known = new Set([...(def.name ? [] : ['name']), ...Object.keys(def.flags ?? {})]);
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]!;
    const value = rest[i + 1];
    if (!key.startsWith('--') || !known.has(key.slice(2))) return `unknown argument '${key}'; ${usage(def)}`;
    if (value === undefined) return `${key} needs a value; ${usage(def)}`;
    flags.set(key.slice(2), value);
  }
  const name = def.name ?? flags.get('name');
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

/** Set by the agent in the environment of each daemon it starts: its own pid. */
export const STARTER_ENV = 'KUBE_NETLAB_STARTER';

/**
 * The parent's pid of a process (this one by default) as it is now. Node's
 * `process.ppid` is read once at start and never changes, so being
 * reparented shows only here. Undefined when the process is gone.
 */
export function parentPid(pid: number | 'self' = 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return pid === 'self' ? process.ppid : undefined;
  }
}

const STRENGTH: Record<ReloadReason, number> = { change: 0, data: 1, SIGHUP: 2, request: 3 };

interface Waiter<R> {
  resolve(result: R | undefined): void;
  reject(err: Error): void;
}

/** Runs a daemon to its end: arguments, config, reloads, signals. */
export function runDaemon<C, R = void>(def: DaemonDefinition<C, R>, argv: readonly string[] = process.argv.slice(2)): void {
  const args = parseDaemonArgs(argv, def);
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n`);
    process.exit(2);
  }
  const { runDir, name, flags } = args;
  const configName = def.configFile ?? (def.configFlag ? flags.get(def.configFlag)! : daemonConfigFile({ name }));
  const configPath = isAbsolute(configName) ? configName : join(runDir, configName);
  const statePath = join(runDir, daemonStateFile({ name }));
  let stopping = false;
  let daemon: Daemon<C, R> | undefined;
  let dying = false;
  const fatal = (err: Error, detail = err.message): never => {
    if (!dying) {
      dying = true;
      log(`${name}: fatal: ${detail}; exiting with status 1`);
      // Whatever stop() does synchronously (closing sockets, signalling children) still happens.
      try {
        void Promise.resolve(daemon?.stop()).catch(() => undefined);
      } catch {
        // Exiting anyway.
      }
    }
    process.exit(1);
  };
  // Set before anything can be asked of the daemon; `create` receives it.
  let requestReload: () => Promise<R> = () => Promise.reject(new Error(`${name} is not running yet`));
  const ctx: DaemonContext<R> = {
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
    requestReload: () => requestReload(),
  };
  const read = (): { config: C; text: string } => {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${configPath}: ${(err as Error).message}; ${def.configWriter ?? 'the agent'} writes it`);
    }
    return { config: def.parse(text, configPath), text };
  };

  let watcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${name}: ${signal}, stopping`);
    watcher?.close();
    clearInterval(poll);
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    void Promise.resolve()
      // Also half-way through start(): what it opened so far is closed.
      .then(() => daemon?.stop())
      .then(
        () => process.exit(0),
        () => process.exit(0),
      );
  };
  // Before create(): until Node.js has a handler, SIGTERM kills the process outright, and whatever create() started
  // (the agent's daemons) would be left without the stop() that ends it.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    daemon = def.create(ctx);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const running = daemon;
  let started = false;
  let seen = '';
  let lastText = '';
  let lastResult: R | undefined;

  /** One reload; undefined when there was nothing to load. Throws only for a request. */
  const reloadOnce = async (why: ReloadReason): Promise<R | undefined> => {
    const now = identity(configPath);
    if (why === 'change' && (now === seen || now === '')) return lastResult;
    seen = now;
    const failed = (err: unknown): undefined => {
      log(`${name}: reload (${why}) failed, keeping the running config: ${(err as Error).message}`);
      if (why === 'request') throw err;
      return undefined;
    };
    let next: { config: C; text: string };
    try {
      next = read();
    } catch (err) {
      return failed(err);
    }
    if ((why === 'change' || why === 'request') && next.text === lastText) return lastResult;
    try {
      const result = await running.reload(next.config, why);
      lastText = next.text;
      lastResult = result;
      return result;
    } catch (err) {
      return failed(err);
    }
  };

  // Reloads asked for while one runs wait as one, with the strongest reason of them.
  let busy = false;
  let pending: { why: ReloadReason; waiters: Waiter<R>[] } | undefined;
  const drain = async (): Promise<void> => {
    if (busy || !started) return;
    busy = true;
    while (pending && !stopping) {
      const { why, waiters } = pending;
      pending = undefined;
      try {
        const result = await reloadOnce(why);
        for (const w of waiters) w.resolve(result);
      } catch (err) {
        for (const w of waiters) w.reject(err as Error);
      }
    }
    busy = false;
  };
  const reload = (why: ReloadReason): Promise<R | undefined> =>
    new Promise<R | undefined>((resolve, reject) => {
      if (stopping) return resolve(undefined);
      const waiter = { resolve, reject };
      pending = pending ? { why: STRENGTH[why] > STRENGTH[pending.why] ? why : pending.why, waiters: [...pending.waiters, waiter] } : { why, waiters: [waiter] };
      void drain();
    });
  // Reloads the process did not ask for report their failures in the log only.
  const reloadQuietly = (why: ReloadReason): void => void reload(why).catch(() => undefined);
  requestReload = async () => (await reload('request')) as R;

  /** Set while the process waits for its first config file; resolves once the file exists. */
  let configAppeared: (() => void) | undefined;
  process.on('SIGHUP', () => reloadQuietly('SIGHUP'));
  process.on('uncaughtException', (err) => fatal(err, err.stack ?? err.message));
  process.on('unhandledRejection', (err) => fatal(err instanceof Error ? err : new Error(String(err)), err instanceof Error ? (err.stack ?? err.message) : String(err)));

  // The config and the data files are replaced by rename: the directory of each is watched for its name.
  const watched = new Map<string, 'change' | 'data'>([[basename(configPath), 'change'], ...(def.alsoWatch ?? []).map((f) => [f, 'data'] as [string, 'data'])]);
  const dataIds = new Map((def.alsoWatch ?? []).map((f) => [f, identity(join(runDir, f))]));
  try {
    watcher = watch(dirname(configPath), (_event, file) => {
      const why = file === null ? 'change' : watched.get(file.toString());
      if (why === 'data') dataIds.set(file!.toString(), identity(join(runDir, file!.toString())));
      if (why === 'change') configAppeared?.();
      if (why) reloadQuietly(why);
    });
    watcher.on('error', (err) => log(`${name}: watch of ${dirname(configPath)} failed (${err.message}); polling every ${CONFIG_POLL_MS} ms only`));
  } catch (err) {
    log(`${name}: cannot watch ${dirname(configPath)} (${(err as Error).message}); polling every ${CONFIG_POLL_MS} ms only`);
  }
  // The agent names itself to the daemons it starts: one that was orphaned before it got here (its agent
  // killed while it booted) sees a parent that is not its starter from the first poll on.
  const parent = Number(process.env[STARTER_ENV]) || parentPid();
  const stopWhenOrphaned = def.stopWhenOrphaned ?? true;
  poll = setInterval(() => {
    // Reparented: the agent was killed outright. Its successor starts a daemon of its own.
    if (stopWhenOrphaned && parentPid() !== parent) return stop(`the process that started it (${parent}) is gone`);
    configAppeared?.();
    reloadQuietly('change');
    for (const [file, id] of dataIds) {
      const now = identity(join(runDir, file));
      if (now !== id) {
        dataIds.set(file, now);
        reloadQuietly('data');
      }
    }
  }, CONFIG_POLL_MS);

  log(`${name}: ${def.program} ${process.pid} starting in ${runDir}`);
  void (async () => {
    if (identity(configPath) === '') {
      log(`${name}: waiting for ${configPath}, which ${def.configWriter ?? 'the agent'} writes`);
      await new Promise<void>((resolve) => {
        configAppeared = () => {
          if (identity(configPath) === '') return;
          configAppeared = undefined;
          resolve();
        };
        // Written between the check above and the watch's first event.
        configAppeared();
      });
      if (stopping) return;
    }
    // Started niced to boot while `up` built the kernel objects: those are done once a config is there.
    endBootPriority();
    const first = read();
    seen = identity(configPath);
    lastText = first.text;
    lastResult = (await running.start(first.config)) ?? undefined;
    started = true;
    // Whatever was asked for while it started (a request, a change seen by the watch) runs now.
    void drain();
  })().catch((err: unknown) => fatal(err instanceof Error ? err : new Error(String(err))));
}
