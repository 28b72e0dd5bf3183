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

/**
 * The steps in which `up` creates kernel objects, in order. The batches of
 * one step run in parallel, one process per namespace (every component's
 * lines for a namespace merged, in registry order); a step starts when the
 * previous one is done, because a veth is created from one side before the
 * other side can address it, and vxlan's routes need their fdb entries.
 */
export const UP_STEPS = ['internet', 'router', 'nodes', 'node-fdb', 'node-routes', 'pods'] as const;
export type UpStep = (typeof UP_STEPS)[number];

/** Kernel objects of one component under the name `check` prints for them. */
export type KernelGroup = { label: string; sysctls?: readonly Sysctl[]; files?: readonly RenderedFile[] } & (
  | { step: UpStep; batches: readonly NetnsBatch[] }
  | { step?: undefined; batches?: undefined }
);

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
   * fdb entries) with the step of `up` they run in, the sysctls it sets and
   * the files it writes: `up` creates the kernel objects from these, and
   * `check` reads them back.
   */
  kernel?(plan: Plan): KernelGroup[];
  netfilter?: NetfilterPart;
  /** The processes it needs, each with its own rendered config. */
  daemons?(plan: Plan): DaemonSpec[];
  /**
   * Files its daemons would otherwise make when they start (the ingress
   * certificates, one `openssl` after another), made into the run directory
   * by `up` while the kernel objects are being created. A daemon still makes
   * whatever is missing, so this only moves the work off its start.
   */
  prepare?(plan: Plan, runDir: string): Promise<void>;
}
