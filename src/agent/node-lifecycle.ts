/**
 * The node lifecycle controller's part that matters to the network: a node
 * that has not been heard from for the grace period (kube-controller-
 * manager's --node-monitor-grace-period, 40 s upstream) is NotReady, and
 * every pod on it is marked not ready, so it leaves the endpoints of every
 * service and kube-proxy on the other nodes stops sending to it. The
 * kubelet's heartbeat is the node's link to the node network: `fault
 * node-down` cuts it and tells the agent when; `node-up` restores both, and
 * the pods are ready again as soon as their probes say so. Pure apart from
 * the clock it is given.
 */
export interface NodeCondition {
  name: string;
  ready: boolean;
  /** When the node was last heard from, while it is unreachable (ISO 8601). */
  unreachableSince?: string;
}

export class NodeLifecycle {
  private readonly unreachableSince = new Map<string, number>();

  constructor(
    private readonly graceMs: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  setReachable(node: string, reachable: boolean): void {
    if (reachable) this.unreachableSince.delete(node);
    else if (!this.unreachableSince.has(node)) this.unreachableSince.set(node, this.now());
  }

  /** Unheard of for the grace period or longer. */
  notReady(node: string): boolean {
    const since = this.unreachableSince.get(node);
    return since !== undefined && this.now() - since >= this.graceMs();
  }

  conditions(nodes: string[]): NodeCondition[] {
    return nodes.map((name) => {
      const since = this.unreachableSince.get(name);
      return { name, ready: !this.notReady(name), ...(since !== undefined ? { unreachableSince: new Date(since).toISOString() } : {}) };
    });
  }
}
