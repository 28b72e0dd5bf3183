/**
 * kube-proxy for every node of the lab: turns the current endpoints into
 * each node's rules and applies them, one transaction per node. The first
 * sync of a node writes everything; later ones only what changed (partial
 * sync, as kube-proxy does since KEP-3453). Syncs never overlap: a change
 * during a sync triggers one more sync when it ends.
 */
import type { ProxyNodeInput } from '../../model/services.js';
import type { ProxyMode } from '../../spec/lab.js';
import { applyProxyRules } from '../../kernel/netfilter.js';

/** Applies one node's rendered rules in its namespace, as one transaction; throws when the tool refuses them. */
export type ProxyApplier = (mode: ProxyMode, netns: string, text: string, context: string) => Promise<unknown>;
import { IptablesMemo, renderIptablesSync } from './iptables.js';
import { NFT_CACHE_PROBE, NftablesMemo, renderNftablesSync } from './nftables.js';
import type { Logger } from '../../runtime/log.js';
import { SyncLoop } from '../../runtime/sync-loop.js';

const RETRY_MS = 1000;

export interface ProxyStatus {
  mode: ProxyMode;
  /** Syncs that changed at least one node. */
  syncs: number;
  /** The plan version whose endpoints are in the kernel of every node. */
  syncedPlan?: string;
  /** Duration of the last sync that changed something. */
  lastSyncMs?: number;
  /** Set while a node's rules could not be applied; retried every second. */
  lastError?: string;
  /** A sync is running or asked for: the kernel may not hold the latest endpoints yet. */
  pending: boolean;
}

export interface ProxyView {
  planVersion: string;
  /** netns of each node, by node name. */
  netns: Map<string, string>;
  inputs: ProxyNodeInput[];
}

export class ProxyController {
  private readonly applied = new Map<string, { input: ProxyNodeInput; json: string }>();
  /** The iptables renderer's parts of the last sync, so the next one renders only what changed. */
  private readonly iptablesMemo = new IptablesMemo();
  /** The nftables names already hashed, so a sync does not hash them again. */
  private readonly nftablesMemo = new NftablesMemo();
  private readonly loop: SyncLoop;
  private readonly state: ProxyStatus;

  constructor(
    mode: ProxyMode,
    /** The view to program now: called at the start of every sync, so a sync always uses the latest state. */
    private readonly view: () => ProxyView,
    private readonly log: Logger,
    /** Called with the view every node now holds (the health check servers follow it). */
    private readonly onSynced: (view: ProxyView) => void = () => {},
    /** The kernel: `iptables-restore --noflush` or `nft -f` in the node (replaced in unit tests by a recorder). */
    private readonly apply: ProxyApplier = (mode, netns, text, context) => applyProxyRules(mode, netns, text, context, NFT_CACHE_PROBE),
    private readonly retryMs = RETRY_MS,
  ) {
    this.state = { mode, syncs: 0, pending: false };
    this.loop = new SyncLoop(() => this.syncOnce(), retryMs);
  }

  status(): ProxyStatus {
    return { ...this.state, pending: this.loop.busy || this.state.lastError !== undefined };
  }

  /** Asks for a sync; returns at once. */
  /** Asks for a sync; resolves once a round that started after this call has ended. */
  kick(): Promise<void> {
    return this.loop.kick();
  }

  private render(input: ProxyNodeInput, previous: ProxyNodeInput | undefined): string {
    return this.state.mode === 'iptables' ? renderIptablesSync(input, previous, this.iptablesMemo) : renderNftablesSync(input, previous, this.nftablesMemo);
  }

  private async syncOnce(): Promise<boolean> {
    const view = this.view();
    const started = performance.now();
    const changed: string[] = [];
    const failures = new Map<string, string>();
    // Nodes are independent kernels: their rules are written side by side, and each node's outcome is its own.
    await Promise.all(
      view.inputs.map(async (input) => {
        const json = JSON.stringify(input);
        const before = this.applied.get(input.node);
        if (before?.json === json) return;
        const netns = view.netns.get(input.node);
        if (!netns) return;
        const text = this.render(input, before?.input);
        try {
          await this.apply(this.state.mode, netns, text, `kube-proxy (${this.state.mode}) sync on node ${input.node}`);
          this.applied.set(input.node, { input, json });
          changed.push(input.node);
        } catch (err) {
          // nft applies a script all or nothing, so the kernel still holds what was applied last and the retry can
          // build on it. iptables-restore commits table by table: after a failure the next attempt writes everything.
          if (this.state.mode === 'iptables') this.applied.delete(input.node);
          failures.set(input.node, `node ${input.node}: ${(err as Error).message}`);
        }
      }),
    );
    // Named in the plan's order, whichever node finished first (a retry that fails the same way logs nothing new).
    const order = new Map(view.inputs.map((input, i) => [input.node, i]));
    changed.sort((a, b) => order.get(a)! - order.get(b)!);
    const failed = [...failures.keys()].sort((a, b) => order.get(a)! - order.get(b)!).map((node) => failures.get(node)!)[0];
    for (const node of [...this.applied.keys()]) if (!view.netns.has(node)) this.applied.delete(node);
    if (failed) {
      if (this.state.lastError !== failed) this.log(`kube-proxy sync failed, retrying every ${this.retryMs} ms: ${failed}`);
      this.state.lastError = failed;
      return false;
    }
    if (this.state.lastError) this.log('kube-proxy sync recovered');
    delete this.state.lastError;
    if (changed.length) {
      this.state.syncs++;
      this.state.lastSyncMs = performance.now() - started;
      // The line a reader (or a test) orders events by: from here on the kernel holds this view.
      const byNode = new Map<string, number>();
      for (const sp of view.inputs[0]?.services ?? []) for (const ep of sp.endpoints) byNode.set(ep.nodeName, (byNode.get(ep.nodeName) ?? 0) + 1);
      const endpoints = [...byNode].sort(([a], [b]) => (a < b ? -1 : 1)).map(([node, n]) => `${node} ${n}`).join(', ') || 'none';
      this.log(`kube-proxy: rules of ${changed.join(', ')} rewritten in ${Math.round(this.state.lastSyncMs)} ms; ready endpoints by node: ${endpoints}`);
    }
    this.state.syncedPlan = view.planVersion;
    this.onSynced(view);
    return true;
  }

  stop(): void {
    this.loop.stop();
  }
}
