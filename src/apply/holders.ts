/**
 * One long-lived process per host namespace (node, pod, external client),
 * like the pause container of a pod: it keeps a UTS namespace whose hostname
 * is the pod's (or node's) name, and gives `lab exec` a process to join.
 * Containers dying never touches it, so the pod keeps its IP and namespace.
 */
import { readFileSync } from 'node:fs';
import { withNetns, withNewUtsNamespace } from '../kernel/ffi.js';
import { netnsPath } from '../kernel/netns.js';
import { isAlive, spawnDetachedLight } from '../kernel/procs.js';
import { ownerOf } from './state.js';

export interface HolderTarget {
  netns: string;
  hostname: string;
}

/** A pause process is up when it runs `sleep`: it has not exited, and nothing else took its pid. */
function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === 'sleep';
  } catch {
    return false;
  }
}

/**
 * Throws, naming them, when pause processes are not running: `up` checks
 * once they are all started and again before it reports the lab up, since
 * one that cannot run `sleep` exits a moment after it started.
 */
export function checkHolders(holders: Record<string, number>): void {
  const dead = Object.entries(holders).filter(([, pid]) => !running(pid));
  if (dead.length === 0) return;
  throw new Error(
    `the pause process of ${dead.map(([netns, pid]) => `${netns} (pid ${pid})`).join(', ')} exited; it runs \`sleep infinity\` from PATH: is that coreutils' sleep?`,
  );
}

function spawnHolders(lab: string, targets: readonly HolderTarget[], into: Record<string, number>): void {
  // A child is started from the calling thread and keeps its namespaces: started while the thread is inside
  // the pod's network namespace and a new UTS namespace already named after the pod, the pause process is
  // born in both, as one exec of `sleep`.
  for (const t of targets) {
    into[t.netns] = withNetns(netnsPath(t.netns), () => withNewUtsNamespace(t.hostname, () => spawnDetachedLight(['sleep', 'infinity'], ownerOf(lab))));
  }
}

export function startHolders(lab: string, targets: HolderTarget[]): Record<string, number> {
  const holders: Record<string, number> = {};
  spawnHolders(lab, targets, holders);
  checkHolders(holders);
  return holders;
}

/** How many pause processes `startHoldersInTurns` starts before it lets the event loop run. */
const HOLDERS_PER_TURN = 8;

/**
 * As startHolders, a few at a time, letting the event loop run between
 * them: `up` starts them while its `ip -batch` processes build the kernel
 * objects, whose exits it must still notice. A pause process needs only its
 * namespace. `into` holds every pid started so far, also when one fails.
 */
export async function startHoldersInTurns(lab: string, targets: readonly HolderTarget[], into: Record<string, number>): Promise<void> {
  for (let i = 0; i < targets.length; i += HOLDERS_PER_TURN) {
    spawnHolders(lab, targets.slice(i, i + HOLDERS_PER_TURN), into);
    await new Promise((resolve) => setImmediate(resolve));
  }
  checkHolders(into);
}
