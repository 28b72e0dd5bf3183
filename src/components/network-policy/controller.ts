/**
 * The network-policy agent of every node, run by the lab's agent: from the
 * plan (policies, pods with their labels and addresses, namespace labels)
 * to each node's rules, applied in one transaction per node, and only on
 * the nodes whose rules changed. Readiness plays no part: policies follow
 * pods and labels, which change with `apply` and `scale`.
 */
import type { Logger } from '../../runtime/log.js';
import { SyncLoop } from '../../runtime/sync-loop.js';
import { iptablesRestore, iptablesSave, nftApply } from '../../kernel/netfilter.js';
import type { NodePlan, Plan } from '../../model/types.js';
import type { ProxyMode } from '../../spec/lab.js';
import { compileNode } from './compile.js';
import { PolicyEngine } from './engine.js';
import { netpolChainsIn, renderNetpolIptables } from './iptables.js';
import { renderNetpolNftables } from './nftables.js';

const RETRY_MS = 1000;

export interface NetpolStatus {
  mode: ProxyMode;
  /** Syncs that changed at least one node. */
  syncs: number;
  /** The plan whose policies every node enforces. */
  syncedPlan?: string;
  /** Nodes whose rules the last changing sync rewrote, and how long it took. */
  lastSync?: { nodes: string[]; ms: number };
  lastError?: string;
  /** A sync is running, asked for, or failed and waiting for its retry. */
  pending: boolean;
}

export interface NetpolView {
  planVersion: string;
  plan: Plan;
}

interface Applied {
  /** The node's whole rule text, as a fresh node would get it: equal texts, nothing to do. */
  desired: string;
  /** iptables chains the node holds. */
  chains: string[];
}

export class NetpolController {
  private readonly applied = new Map<string, Applied>();
  private readonly loop = new SyncLoop(() => this.syncOnce(), RETRY_MS);
  private readonly state: NetpolStatus;

  constructor(
    mode: ProxyMode,
    /** Called at the start of every sync, so a sync always uses the latest plan. */
    private readonly view: () => NetpolView,
    private readonly log: Logger,
  ) {
    this.state = { mode, syncs: 0, pending: false };
  }

  status(): NetpolStatus {
    return { ...this.state, pending: this.loop.busy || this.state.lastError !== undefined };
  }

  /** Asks for a sync; resolves once a round that started after this call has ended. */
  kick(): Promise<void> {
    return this.loop.kick();
  }

  stop(): void {
    this.loop.stop();
  }

  /** Brings one node's rules to what the plan says; true when they had to change. */
  private async syncNode(engine: PolicyEngine, node: NodePlan): Promise<boolean> {
    const rules = compileNode(engine, node);
    const context = `network policy (${this.state.mode}) sync on node ${node.name}`;
    if (this.state.mode === 'iptables') {
      const desired = renderNetpolIptables(rules).text;
      const before = this.applied.get(node.name);
      if (before?.desired === desired) return false;
      // A node this agent has not synced yet may hold chains of an earlier agent: they are cleaned up too.
      const previous = before?.chains ?? netpolChainsIn(await iptablesSave(node.netns, 'filter', context));
      const { text, chains } = renderNetpolIptables(rules, previous);
      await iptablesRestore(node.netns, text, context);
      this.applied.set(node.name, { desired, chains });
      return true;
    }
    const desired = renderNetpolNftables(rules);
    if (this.applied.get(node.name)?.desired === desired) return false;
    await nftApply(node.netns, desired, context);
    this.applied.set(node.name, { desired, chains: [] });
    return true;
  }

  private async syncOnce(): Promise<boolean> {
    const { planVersion, plan } = this.view();
    const started = performance.now();
    const engine = PolicyEngine.fromPlan(plan);
    const planNodes = plan.nodes;
    // Nodes are independent: each gets its own transaction, all at once.
    const outcomes = await Promise.all(
      planNodes.map(async (node): Promise<{ node: string; changed: boolean; error?: string }> => {
        try {
          return { node: node.name, changed: await this.syncNode(engine, node) };
        } catch (err) {
          // The restore is one transaction per table; after a failure the next attempt starts from what the kernel holds.
          this.applied.delete(node.name);
          return { node: node.name, changed: false, error: `node ${node.name}: ${(err as Error).message}` };
        }
      }),
    );
    const changed = outcomes.filter((o) => o.changed).map((o) => o.node);
    const failed = outcomes.find((o) => o.error)?.error;
    const nodes = new Set(planNodes.map((n) => n.name));
    for (const name of [...this.applied.keys()]) if (!nodes.has(name)) this.applied.delete(name);
    if (failed) {
      if (this.state.lastError !== failed) this.log(`network policy sync failed, retrying every ${RETRY_MS} ms: ${failed}`);
      this.state.lastError = failed;
      return false;
    }
    if (this.state.lastError) this.log('network policy sync recovered');
    delete this.state.lastError;
    if (changed.length) {
      this.state.syncs++;
      this.state.lastSync = { nodes: changed, ms: performance.now() - started };
      this.log(`network policy: ${plan.spec.networkPolicies.length} policies, rules of ${changed.join(', ')} rewritten in ${Math.round(performance.now() - started)} ms`);
    }
    this.state.syncedPlan = planVersion;
    return true;
  }
}
