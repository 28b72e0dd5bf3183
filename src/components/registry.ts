/**
 * Every component of the lab, in the order `up` builds them and the agent
 * syncs them: the topology first, then the pod-network backend, then the
 * netfilter users (kube-proxy's jumps come first, network policy's jump is
 * inserted above them, ip-masq and portmap append theirs), then the
 * daemons. Listed here explicitly; importing a component has no effect.
 */
import type { DaemonSpec } from '../model/daemons.js';
import type { PodReady } from '../model/endpoints.js';
import type { NodePlan, Plan } from '../model/types.js';
import { mergeBatches, type NetnsBatch, type RenderedFile, type Sysctl } from '../render/batch.js';
import { cloudRoutesComponent } from './cloud-routes/index.js';
import { clusterDns } from './cluster-dns/index.js';
import { UP_STEPS, type Component, type KernelGroup } from './contract.js';
import { hostGwComponent } from './host-gw/index.js';
import { ingressNginx } from './ingress-nginx/index.js';
import { ipMasq } from './ip-masq/index.js';
import { kubeProxy } from './kube-proxy/index.js';
import { loadBalancer } from './load-balancer/index.js';
import { networkPolicy } from './network-policy/index.js';
import { objectsOf, sysctlObjects, type LinkObject, type Owned } from './objects.js';
import { portmap } from './portmap/index.js';
import { topology } from './topology/index.js';
import { udpComponent } from './udp/index.js';
import { vxlanComponent } from './vxlan/index.js';

export const COMPONENTS: readonly Component[] = [
  topology,
  hostGwComponent,
  cloudRoutesComponent,
  vxlanComponent,
  udpComponent,
  kubeProxy,
  networkPolicy,
  ipMasq,
  portmap,
  clusterDns,
  ingressNginx,
  loadBalancer,
];

export function componentsOf(plan: Plan): Component[] {
  return COMPONENTS.filter((c) => c.enabled(plan));
}

/** Every enabled component's kernel groups, in registry order: rendered once per caller, since each render walks the whole plan. */
function kernelGroups(plan: Plan): KernelGroup[] {
  return componentsOf(plan).flatMap((c) => c.kernel?.(plan) ?? []);
}

/** What `up` makes of the kernel groups: its `ip -batch` stages, the sysctls and the files. */
export interface LabKernel {
  /**
   * The `ip -batch` work, stage by stage: every enabled component's batches
   * of one step, merged per namespace in registry order (a backend's router
   * and node lines follow the topology's, whose devices they use).
   */
  stages: NetnsBatch[][];
  /** Every sysctl the lab sets, in registry order. */
  sysctls: Sysctl[];
  /** Every file the lab writes for its namespaces (a pod's resolv.conf and hosts), under the name of what wrote it. */
  files: { component: string; file: RenderedFile }[];
}

export function labKernel(plan: Plan): LabKernel {
  const groups = kernelGroups(plan);
  return {
    stages: UP_STEPS.map((step) => mergeBatches(...groups.filter((g) => g.step === step).map((g) => [...g.batches!]))).filter((stage) => stage.length > 0),
    sysctls: groups.flatMap((k) => k.sysctls ?? []),
    files: groups.flatMap((k) => (k.files ?? []).map((file) => ({ component: k.label, file }))),
  };
}

export const upStages = (plan: Plan): NetnsBatch[][] => labKernel(plan).stages;
export const labFiles = (plan: Plan): LabKernel['files'] => labKernel(plan).files;

/** Every kernel object of the lab, each under the name of what made it. */
export function labObjects(plan: Plan): Owned[] {
  // One map across components: a later `link set` (a backend's MTU on cbr0) refines the link an earlier one made.
  const links = new Map<string, LinkObject>();
  return kernelGroups(plan).flatMap((k) => [...objectsOf(k.label, k.batches ?? [], links), ...sysctlObjects(k.label, k.sysctls ?? [])]);
}

/** Every component's `prepare`, side by side. */
export async function prepareLab(plan: Plan, runDir: string): Promise<void> {
  await Promise.all(componentsOf(plan).map((c) => c.prepare?.(plan, runDir)));
}

/** Every daemon the lab runs. */
export function labDaemons(plan: Plan): DaemonSpec[] {
  return componentsOf(plan).flatMap((c) => c.daemons?.(plan) ?? []);
}

/** One `iptables-restore --noflush` text with every component's bootstrap for `node`, in registry order. */
export function netfilterBootstrap(plan: Plan, node: NodePlan): string {
  return componentsOf(plan)
    .map((c) => c.netfilter?.bootstrap?.(plan, node) ?? '')
    .join('');
}

/** What the node's rules must be once the agent has synced: the bootstrap, then every component's synced rules. */
export function netfilterOf(plan: Plan, node: NodePlan, ready: PodReady, skip: ReadonlySet<string> = new Set()): { iptables: string; nft: string } {
  let iptables = netfilterBootstrap(plan, node);
  let nft = '';
  for (const c of componentsOf(plan)) {
    if (!c.netfilter?.synced || skip.has(c.name)) continue;
    const r = c.netfilter.synced(plan, node, ready);
    iptables += r.iptables ?? '';
    nft += r.nft ?? '';
  }
  return { iptables, nft };
}
