/**
 * `check`: every kernel object, netfilter rule, file, process and listening
 * socket the plan decides, compared with what the kernel, /proc and the agent
 * say now. Read-only.
 */
import { agentStatus, podReadyFrom } from '../agent/client.js';
import type { AgentStatus } from '../agent/protocol.js';
import { labDir, readHolders } from '../apply/state.js';
import { componentsOf, labDaemons, labFiles, labObjects, netfilterOf } from '../components/registry.js';
import type { Plan } from '../model/types.js';
import { processDifferences } from './agent.js';
import { compare, type Difference } from './compare.js';
import { placeNames } from './expected.js';
import { compareFiles, readFiles } from './files.js';
import { readKernel } from './kernel.js';
import { heldNamespaces, procDifferences, readProcs } from './procfs.js';
import { checkNetfilter, type NodeNetfilter } from './netfilter.js';

export { differenceLine, type Difference } from './compare.js';

export interface CheckReport {
  lab: string;
  objects: number;
  differences: Difference[];
}

/** How long `check` gives the agent to finish a sync it is in the middle of before comparing its rules. */
const SYNC_WAIT_MS = 2000;

/**
 * The agent's status once kube-proxy and network policy hold the plan it
 * runs (or as it is after a short wait), so rules are compared with the
 * endpoints the agent last programmed rather than mid-sync.
 */
async function settledStatus(plan: Plan): Promise<{ status?: AgentStatus; error?: string }> {
  const deadline = Date.now() + SYNC_WAIT_MS;
  for (;;) {
    let status: AgentStatus;
    try {
      status = await agentStatus(labDir(plan.lab), 2000);
    } catch (err) {
      return { error: (err as Error).message.split(';')[0] };
    }
    if (notComparable(status).size === 0 || Date.now() >= deadline) return { status };
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Components whose synced rules cannot be compared now: the agent is away, or still syncing. */
function notComparable(status: AgentStatus | undefined): Set<string> {
  const skip = new Set<string>();
  if (!status?.proxy || status.proxy.pending || status.proxy.syncedPlan !== status.planVersion) skip.add('kube-proxy');
  if (!status?.netpol || status.netpol.pending || status.netpol.syncedPlan !== status.planVersion) skip.add('network-policy');
  return skip;
}

export async function checkLab(plan: Plan): Promise<CheckReport> {
  const expected = labObjects(plan);
  const places = placeNames(plan);
  const components = componentsOf(plan);
  // The agent's status first (it says which readiness kube-proxy's rules follow), then every read at once.
  const agent = await settledStatus(plan);
  const skip = notComparable(agent.status);
  const ready = podReadyFrom(agent.status);
  const nftTables = components.flatMap((c) => c.netfilter?.nftTables ?? []);
  const nodes: NodeNetfilter[] = plan.nodes.map((node) => ({ node, ...netfilterOf(plan, node, ready, skip), nftTables, skip }));
  const files = labFiles(plan);
  const holders = readHolders(plan.lab);
  const [kernel, netfilter, contents, procs] = await Promise.all([readKernel(expected), checkNetfilter(nodes, components), readFiles(files.map((f) => f.file.path)), readProcs(holders)]);
  const sockets = plan.pods.reduce((n, p) => n + p.containers.reduce((m, c) => m + c.ports.length, 0), 0);
  const rules = netfilter.differences.map((d) => ({ place: d.node.name, component: d.component, object: d.name, problem: d.problem }));
  const agentDiffs = processDifferences(plan, labDaemons(plan), agent.status, places, agent.error);
  // A sync that is still behind after the wait is drift of its own: the kernel does not hold the plan's rules yet.
  const behind = agent.status
    ? [...skip].map((c) => ({ place: 'lab', component: c, object: 'sync', problem: `not in step with plan ${agent.status!.planVersion.slice(0, 12)} (${(c === 'kube-proxy' ? agent.status!.proxy : agent.status!.netpol)?.lastError ?? 'still syncing'})` }))
    : [];
  return {
    lab: plan.lab,
    objects: expected.length + netfilter.compared + files.length + heldNamespaces(plan).length + sockets,
    differences: [...compare(expected, kernel, places), ...compareFiles(files, contents, places), ...rules, ...procDifferences(plan, holders, procs, places), ...agentDiffs, ...behind],
  };
}
