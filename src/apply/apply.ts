/**
 * Changes a running lab to match a new spec without rebuilding it: pods
 * that are gone are removed, new pods are wired in, services and endpoints
 * follow through the agent (whose kube-proxy rewrites only what changed).
 * Pods present before and after keep their namespace, IP and connections.
 * Changes to nodes, networks or backends need `up`, which rebuilds.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { agentReload, waitAgentReady } from '../agent/client.js';
import { applySysctls, createNamespaces, deleteNamespaces, runBatch } from '../kernel/netns.js';
import { killAll } from '../kernel/procs.js';
import { planLab } from '../model/plan.js';
import type { Plan, PodPlan } from '../model/types.js';
import type { LabSpec } from '../spec/lab.js';
import { NETNS_ETC, podHostname } from '../render/files.js';
import { labFiles } from '../components/registry.js';
import { pinnedNodeSysctls, podNeighbourLine, podSysctls, podNodeLines, renderPod, repinPodLines, unpinLine } from '../components/topology/render.js';
import { renderPortmap } from '../components/portmap/render.js';
import { iptablesRestore } from '../kernel/netfilter.js';
import { ConfigError } from '../util/errors.js';
import { mapLimit } from '../util/concurrency.js';
import { startHolders } from './holders.js';
import { checkPlannedTests } from './tests.js';
import { waitReadiness } from './up.js';
import { labDir, readHolders, readPlan, readRecord, writeHolders, writePlan, writeRecord } from './state.js';

const APPLY_READY_TIMEOUT_MS = 20_000;

export interface ApplyResult {
  plan: Plan;
  added: string[];
  removed: string[];
  unchanged: number;
}

/** What must match between the running plan and the new one for an in-place change. */
function topologyOf(plan: Plan): string {
  const { spec } = plan;
  return JSON.stringify({
    nodes: plan.nodes.map((n) => [n.name, n.ip, n.podCIDR, n.labels]),
    mtu: spec.mtu,
    podNetwork: spec.podNetwork,
    serviceNetwork: spec.serviceNetwork,
    nodeNetwork: spec.nodeNetwork,
    external: spec.external,
    clusterDomain: spec.clusterDomain,
  });
}

/** A pod whose wiring (node, IP, MTU) or DNS settings differ cannot be changed in place; it is replaced, as a changed template replaces pods. */
const podWiring = (p: PodPlan) => JSON.stringify([p.node, p.ip, p.netns, p.hostVeth, p.mtu, p.hostname, p.subdomain, p.dnsPolicy, p.dnsConfig, p.hostNetwork]);

export async function applyLab(spec: LabSpec, log: (line: string) => void = () => {}): Promise<ApplyResult> {
  const lab = spec.name;
  const record = readRecord(lab);
  const old = readPlan(lab);
  if (!record || !old || record.phase !== 'ready') {
    throw new ConfigError([{ code: 'bad-value', source: spec.source, message: `lab ${lab} is not up; build it with \`up -f ${spec.files.join(' -f ')}\`` }]);
  }
  const plan = planLab(spec, old);
  checkPlannedTests(plan);
  if (topologyOf(plan) !== topologyOf(old)) {
    throw new ConfigError([
      {
        code: 'bad-value',
        source: spec.source,
        message: `the Lab document of ${lab} changed nodes, networks, the pod network backend, the proxy mode or the cluster domain; \`apply\` changes pods and services only — rebuild with \`up -f ${spec.files.join(' -f ')}\` (pods keep their IPs)`,
      },
    ]);
  }
  const before = new Map(old.pods.map((p) => [p.key, p]));
  const after = new Map(plan.pods.map((p) => [p.key, p]));
  const removed = old.pods.filter((p) => after.get(p.key) === undefined || podWiring(after.get(p.key)!) !== podWiring(p));
  const added = plan.pods.filter((p) => before.get(p.key) === undefined || podWiring(before.get(p.key)!) !== podWiring(p));

  const holders = readHolders(lab);
  if (removed.length) {
    // As Kubernetes deletes a pod: out of the endpoints first (kube-proxy and the ingress controllers follow), then its containers stop, so no request goes to a pod that is gone.
    const leaving = new Set(removed.map((p) => p.key));
    writePlan({ ...old, pods: old.pods.map((p) => (leaving.has(p.key) ? { ...p, terminating: true } : p)) });
    await agentReload(labDir(lab));
    await waitAgentReady(labDir(lab), APPLY_READY_TIMEOUT_MS);
    log(`removing ${removed.length} pod(s): ${removed.map((p) => p.key).join(', ')}`);
    // A hostNetwork pod owns no namespace: its node's stays.
    const own = removed.filter((p) => !p.hostNetwork);
    await killAll(own.map((p) => holders[p.netns]).filter((pid): pid is number => pid !== undefined));
    await deleteNamespaces(own.map((p) => p.netns));
    // A pinned neighbour entry outlives the veth: the node forgets the pod's IP here.
    if (old.staticNeighbours) await onNodes(old, own, (p, node) => unpinLine(p.ip, node.bridge));
    for (const p of own) {
      rmSync(`${NETNS_ETC}/${p.netns}`, { recursive: true, force: true });
      delete holders[p.netns];
    }
  }
  if (added.length) {
    log(`adding ${added.length} pod(s): ${added.map((p) => p.key).join(', ')}`);
    const own = added.filter((p) => !p.hostNetwork);
    await createNamespaces(own.map((p) => p.netns));
    for (const p of own) {
      const node = plan.nodes.find((n) => n.name === p.node)!;
      await runBatch({ netns: node.netns, lines: podNodeLines(plan, p, node.bridge) });
      await runBatch(renderPod(plan, p));
    }
    applySysctls(own.flatMap(podSysctls));
    const addedNs = new Set(own.map((p) => p.netns));
    for (const f of labFiles(plan).map((l) => l.file).filter((f) => [...addedNs].some((ns) => f.path.startsWith(`${NETNS_ETC}/${ns}/`)))) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.content);
    }
    Object.assign(holders, startHolders(lab, own.map((p) => ({ netns: p.netns, hostname: podHostname(p) }))));
  }
  // A lab that grew past (or shrank below) what ARP alone can hold pins (or unpins) the entries of the pods it kept.
  if (plan.staticNeighbours !== old.staticNeighbours) {
    const fresh = new Set(added.map((p) => p.key));
    const kept = plan.pods.filter((p) => !p.hostNetwork && !fresh.has(p.key));
    log(`${plan.staticNeighbours ? 'pinning' : 'unpinning'} the neighbour entries of ${kept.length} pod(s)`);
    await onNodes(plan, kept, (p, node) => (plan.staticNeighbours ? podNeighbourLine(p, node.bridge) : unpinLine(p.ip, node.bridge)));
    applySysctls(plan.nodes.flatMap((n) => pinnedNodeSysctls(n.netns, n.bridge, plan.staticNeighbours ? '0' : '1')));
    await mapLimit(kept, 8, (p) => runBatch({ netns: p.netns, lines: repinPodLines(plan, p) }));
  }
  // Host ports follow their pods; only nodes whose rules change are touched.
  for (const node of plan.nodes) {
    const text = renderPortmap(plan, node, { jumps: false, removed });
    if (text !== renderPortmap(old, node, { jumps: false, removed })) await iptablesRestore(node.netns, text, `hostPort (portmap) rules on node ${node.name}`);
  }
  writeHolders(lab, holders);
  writePlan(plan);
  writeRecord({ ...record, files: spec.files, updatedAt: new Date().toISOString() });
  await agentReload(labDir(lab));
  await waitAgentReady(labDir(lab), APPLY_READY_TIMEOUT_MS);
  await waitReadiness(lab, log);
  return { plan, added: added.map((p) => p.key), removed: removed.map((p) => p.key), unchanged: plan.pods.length - added.length };
}

/** One batch per node with a line for each of `pods` on it. */
async function onNodes(plan: Plan, pods: readonly PodPlan[], line: (p: PodPlan, node: Plan['nodes'][number]) => string): Promise<void> {
  for (const node of plan.nodes) {
    const lines = pods.filter((p) => p.node === node.name).map((p) => line(p, node));
    if (lines.length) await runBatch({ netns: node.netns, lines });
  }
}
