/**
 * The contract every component of the lab implements: a pod-network
 * backend, kube-proxy, network policy, ip-masq, portmap, cluster DNS,
 * ingress-nginx, the cloud load balancer. A component says which kernel
 * objects, netfilter rules and daemons it owns, each rendered from the plan
 * by pure functions; `up` creates them, the agent keeps them, `check`
 * compares them with the kernel. Components are listed in `registry.ts`.
 */
import type { PodReady } from '../model/endpoints.js';
import type { DaemonSpec } from '../model/daemons.js';
import type { NodePlan, Plan } from '../model/types.js';
import type { NetnsBatch, RenderedFile, Sysctl } from '../render/batch.js';

/** A component's netfilter rules on one node. */
export interface NetfilterPart {
  /** Prefixes of the iptables chains it owns (`KUBE-`, `CNI-`): differences in them, and jumps to them, are its. */
  chains?: readonly string[];
  /** The nftables tables it owns (`ip kube-proxy`). */
  nftTables?: readonly string[];
  /** Rules `up` writes once when it builds the node (`iptables-restore --noflush`): the jumps from the built-in chains. */
  bootstrap?(plan: Plan, node: NodePlan): string;
  /**
   * What the agent keeps in the node, as `iptables-restore --noflush` text or
   * an `nft -f` script. `ready` is the readiness the agent reports, for the
   * rules that follow endpoints.
   */
  synced?(plan: Plan, node: NodePlan, ready: PodReady): { iptables?: string; nft?: string };
}

export interface Component {
  /** The name `check` prints next to its objects. */
  readonly name: string;
  /** Whether this lab uses it (a backend is used when the lab picks it). */
  enabled(plan: Plan): boolean;
  /**
   * The `ip -batch` lines it renders (links, addresses, routes, neighbours,
   * fdb entries), the sysctls it sets and the files it writes, under the name `check` prints for
   * them: the kernel objects it owns are read back from these.
   */
  kernel?(plan: Plan): { label: string; batches?: readonly NetnsBatch[]; sysctls?: readonly Sysctl[]; files?: readonly RenderedFile[] }[];
  netfilter?: NetfilterPart;
  /** The processes it needs, each with its own rendered config. */
  daemons?(plan: Plan): DaemonSpec[];
}
