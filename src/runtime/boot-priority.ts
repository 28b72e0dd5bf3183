/**
 * Booting at low priority. `up` starts the agent (and the agent the plan's
 * daemons) while it builds the kernel objects, which is what every one of
 * them waits for: on a machine with few cores, a Node.js boot at normal
 * priority would take its CPU from the `ip` processes. So they start niced,
 * marked by BOOT_NICE_ENV, and each goes back to normal priority once its
 * config has come (the kernel objects are then done).
 *
 * Where the kernel groups processes by session for scheduling (autogroup),
 * a process's nice value only orders it within its session, and the agent
 * runs in a session of its own: the session's group is niced as well.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Set in the environment of a process started niced only for its boot. */
export const BOOT_NICE_ENV = 'KUBE_NETLAB_BOOT_NICE';
/** The nice value such a process boots at. */
export const BOOT_NICE = 10;

/**
 * Every thread of this process back to nice 0, when it was started niced
 * for its boot. Linux keeps a nice value per thread: the threads Node.js
 * started (garbage collection, the thread pool) are reniced too.
 */
export function endBootPriority(): void {
  if (process.env[BOOT_NICE_ENV] !== '1') return;
  if (autogroupNice('self') > 0) setAutogroupNice('self', 0);
  if (getPriority() > 0) renice(process.pid);
}

/**
 * Every thread of process `pid` to nice 0: the agent does it for the
 * daemons it started niced, which may still be booting when the plan comes
 * and would otherwise finish at low priority, behind everything else.
 */
export function renice(pid: number): void {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // Gone.
  }
  for (const tid of threads) {
    try {
      setPriority(Number(tid), 0);
    } catch {
      // A thread that ended meanwhile; without CAP_SYS_NICE the process stays niced, which only makes it slower.
    }
  }
}

/** The nice value of the scheduling group of `pid`'s session; 0 where the kernel has no autogroups. */
function autogroupNice(pid: number | 'self'): number {
  try {
    return Number(/ nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Sets it; nothing happens where the kernel has no autogroups, or the process is gone. */
export function setAutogroupNice(pid: number | 'self', nice: number): void {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // No autogroups (the nice value of each process is then what counts), or the process ended.
  }
}
