/**
 * One long-lived process per host namespace (node, pod, external client),
 * like the pause container of a pod: it keeps a UTS namespace whose hostname
 * is the pod's (or node's) name, and gives `lab exec` a process to join.
 * Containers dying never touches it, so the pod keeps its IP and namespace.
 */
import { withNetns, withNewUtsNamespace } from '../kernel/ffi.js';
import { netnsPath } from '../kernel/netns.js';
import { spawnDetachedLight } from '../kernel/procs.js';
import { ownerOf } from './state.js';

export interface HolderTarget {
  netns: string;
  hostname: string;
}

export async function startHolders(lab: string, targets: HolderTarget[]): Promise<Record<string, number>> {
  // A child is started from the calling thread and keeps its namespaces: started while the thread is inside
  // the pod's network namespace and a new UTS namespace already named after the pod, the pause process is
  // born in both, as one exec of `sleep`.
  const holders: Record<string, number> = {};
  for (const t of targets) {
    holders[t.netns] = withNetns(netnsPath(t.netns), () => withNewUtsNamespace(t.hostname, () => spawnDetachedLight(['sleep', 'infinity'], ownerOf(lab))));
  }
  return holders;
}
