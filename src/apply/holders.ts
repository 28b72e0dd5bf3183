/**
 * One long-lived process per host namespace (node, pod, external client),
 * like the pause container of a pod: it keeps a UTS namespace whose hostname
 * is the pod's (or node's) name, and gives `lab exec` a process to join.
 * Containers dying never touches it, so the pod keeps its IP and namespace.
 */
import { readFileSync, statSync } from 'node:fs';
import { setHostname, withNetns } from '../kernel/ffi.js';
import { netnsPath } from '../kernel/netns.js';
import { spawnDetachedLight } from '../kernel/procs.js';
import { sleep } from '../util/concurrency.js';
import { ownerOf } from './state.js';

export interface HolderTarget {
  netns: string;
  hostname: string;
}

const HOLDER_START_TIMEOUT_MS = 5000;

/** The holder has exec'd `sleep`, so `unshare --uts` is done and its UTS namespace is its own. */
async function waitUnshared(pid: number): Promise<void> {
  const ownUts = statSync('/proc/self/ns/uts').ino;
  const deadline = Date.now() + HOLDER_START_TIMEOUT_MS;
  for (;;) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
      if (comm === 'sleep' && statSync(`/proc/${pid}/ns/uts`).ino !== ownUts) return;
    } catch {
      throw new Error(`the holder process ${pid} exited before it was ready (is util-linux's unshare installed?)`);
    }
    if (Date.now() > deadline) throw new Error(`the holder process ${pid} did not start within ${HOLDER_START_TIMEOUT_MS} ms`);
    await sleep(2);
  }
}

export async function startHolders(lab: string, targets: HolderTarget[]): Promise<Record<string, number>> {
  // A child is forked from the calling thread and keeps its network namespace, so forking while the
  // thread is inside the pod's (withNetns) puts the holder there without an `nsenter` to exec first.
  const started = targets.map((t) => ({
    ...t,
    pid: withNetns(netnsPath(t.netns), () => spawnDetachedLight(['unshare', '--uts', '--', 'sleep', 'infinity'], ownerOf(lab))),
  }));
  const holders: Record<string, number> = {};
  for (const h of started) {
    await waitUnshared(h.pid);
    setHostname(`/proc/${h.pid}/ns/uts`, h.hostname);
    holders[h.netns] = h.pid;
  }
  return holders;
}
