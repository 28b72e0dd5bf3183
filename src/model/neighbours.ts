/**
 * How a lab's pods find their neighbours. The kernel keeps one IPv4
 * neighbour (ARP) table for the whole machine: every namespace's entries
 * count against `net.ipv4.neigh.default.gc_thresh3` of the root namespace
 * (1024 by default), except permanent ones, which the kernel neither
 * collects nor counts. A lab resolves its pods with ARP, as a cluster does,
 * while that fits the default table. A bigger one leaves its pods nothing
 * to resolve: it pins the two entries every pod needs (its gateway, in the
 * pod; the pod, on its node's bridge) as permanent entries, and gives the
 * pod's /24 no on-link route, so a pod on the same node is reached through
 * the gateway as well (the way Calico routes every pod through its host).
 * Only the nodes are left to ARP.
 */

/** `gc_thresh3`'s default: the size the decision is made against, the same on every machine. */
export const DEFAULT_NEIGHBOUR_TABLE = 1024;

/**
 * Entries a lab keeps in the table at once: each pod's gateway and the pod on
 * its node's bridge, room for pod-to-pod traffic (none of it when pinned),
 * and the nodes among themselves.
 */
export function neighboursNeeded(pods: number, nodes: number, pinned = false): number {
  return (pinned ? 0 : 3) * pods + nodes * (nodes + 2);
}

/** Whether a lab of this size pins its pods' neighbour entries. */
export function pinsNeighbours(pods: number, nodes: number): boolean {
  return neighboursNeeded(pods, nodes) > DEFAULT_NEIGHBOUR_TABLE;
}
