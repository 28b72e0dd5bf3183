/**
 * How a lab's pods find their neighbours. The kernel keeps one IPv4
 * neighbour (ARP) table for the whole machine: every namespace's entries
 * count against `net.ipv4.neigh.default.gc_thresh3` of the root namespace
 * (1024 by default), except permanent ones, which the kernel neither
 * collects nor counts. A lab resolves its pods with ARP, as a cluster does,
 * while that fits the default table; a bigger one pins the two entries every
 * pod needs (its gateway, in the pod; the pod, on its node's bridge) as
 * permanent entries, so only pod-to-pod and node traffic is left to ARP.
 */

/** `gc_thresh3`'s default: the size the decision is made against, the same on every machine. */
export const DEFAULT_NEIGHBOUR_TABLE = 1024;

/**
 * Entries a lab keeps in the table at once: each pod's gateway and the pod on
 * its node's bridge (unless pinned), room for pod-to-pod traffic, and the
 * nodes among themselves.
 */
export function neighboursNeeded(pods: number, nodes: number, pinned = false): number {
  return (pinned ? 1 : 3) * pods + nodes * (nodes + 2);
}

/** Whether a lab of this size pins its pods' neighbour entries. */
export function pinsNeighbours(pods: number, nodes: number): boolean {
  return neighboursNeeded(pods, nodes) > DEFAULT_NEIGHBOUR_TABLE;
}
