/**
 * The cloud's load balancer, a daemon in the lab's load-balancer namespace:
 *
 *   node dist/components/load-balancer/main.js <runDir> --name <daemon>
 *
 * Runs on the daemon runtime (runtime/daemon.ts). Its config, rendered by
 * the component (`loadBalancersOf`), lists the load balancers and the
 * nodes; it holds every load-balancer IP on its interface, health-checks
 * each node every second and programs the forwarding to the healthy nodes'
 * node ports (lb-rules.ts). Its state file says which nodes serve each load
 * balancer; every change of health is logged with its time, so a failover
 * can be read from the log. SIGHUP runs a round of checks at once. On
 * SIGTERM the rules stay (the namespace goes with the lab).
 */
import { httpProbe, tcpProbe } from '../../runtime/probe-net.js';
import { log } from '../../runtime/log.js';
import { runDaemon, type DaemonContext } from '../../runtime/daemon.js';
import { SyncLoop } from '../../runtime/sync-loop.js';
import { run } from '../../kernel/exec.js';
import { healthTargetKey, type HealthCheck, type LoadBalancerSet } from './config.js';
import { HEALTH, HealthTable } from './health.js';
import { renderLoadBalancerRules, targetsOf } from './lb-rules.js';

const DEVICE = 'eth0';

/** undefined when the node passes, else why not. */
async function probe(ip: string, check: HealthCheck): Promise<string | undefined> {
  if (check.kind === 'none') return undefined;
  const job = { id: 0, ip, port: check.port, timeoutMs: HEALTH.timeoutMs };
  const r = check.kind === 'tcp' ? await tcpProbe({ ...job, kind: 'tcp' }) : await httpProbe({ ...job, kind: 'http', path: check.path });
  return r.ok ? undefined : r.detail;
}

class LoadBalancer {
  private set: LoadBalancerSet = { nodes: [], balancers: [] };
  /** A config not yet in force: taken at the start of the next round. */
  private pending?: LoadBalancerSet;
  private readonly health = new HealthTable();
  private applied = '';
  /** The nodes each service was last programmed to send to. */
  private lastTargets = new Map<string, string[]>();
  private lastState = '';
  /** When the last completed round of checks started: a caller that changed something before then sees its effect. */
  private roundStartedAt = 0;

  constructor(private readonly ctx: DaemonContext) {}

  /** A new config, used from the next round on. */
  configure(set: LoadBalancerSet): void {
    if (JSON.stringify(set) !== JSON.stringify(this.pending ?? this.set)) this.pending = set;
  }

  /**
   * Rounds: the pending config, the checks, the rules. A round asked for
   * while one runs (a new config, SIGHUP) runs once right after it, since
   * the caller waits for a round that started after its change; periodic
   * rounds meanwhile are dropped, so a slow nft never piles them up.
   */
  private readonly rounds = new SyncLoop(async () => {
    try {
      const changed = await this.takeConfig();
      await this.checkAll();
      await this.program(changed);
    } catch (err) {
      log(`load balancer: ${(err as Error).message}`);
    }
    // A failed round is retried by the next periodic one.
    return true;
  });

  /** A round at once, or right after the running one; resolves when it is done. */
  round(): Promise<void> {
    return this.rounds.kick();
  }

  /** The periodic round, skipped while one runs. */
  tick(): void {
    this.rounds.kickUnlessBusy();
  }

  private async takeConfig(): Promise<boolean> {
    const next = this.pending;
    if (!next) return false;
    this.pending = undefined;
    this.set = next;
    this.health.retain(this.targets().map((t) => t.key));
    await this.syncAddresses();
    log(`load balancer: ${this.set.balancers.length} load balancer(s): ${this.set.balancers.map((b) => `${b.service} ${b.ip}`).join(', ') || 'none'}`);
    return true;
  }

  private targets(): { key: string; node: string; ip: string; check: HealthCheck }[] {
    const out = new Map<string, { key: string; node: string; ip: string; check: HealthCheck }>();
    for (const lb of this.set.balancers) {
      for (const n of this.set.nodes) {
        const key = healthTargetKey(n.name, lb.healthCheck);
        out.set(key, { key, node: n.name, ip: n.ip, check: lb.healthCheck });
      }
    }
    return [...out.values()];
  }

  /** Load-balancer IPs as /32s on the interface: answered by ARP on the internet bridge, routed nowhere else. */
  private async syncAddresses(): Promise<void> {
    const shown = await run(['ip', '-j', 'addr', 'show', 'dev', DEVICE], { context: 'list the load balancer addresses' });
    const infos = (JSON.parse(shown.stdout) as { addr_info?: { local: string; prefixlen: number }[] }[])[0]?.addr_info ?? [];
    const have = new Set(infos.filter((a) => a.prefixlen === 32).map((a) => a.local));
    const want = new Set(this.set.balancers.map((b) => b.ip));
    const lines = [...[...want].filter((ip) => !have.has(ip)).map((ip) => `addr add ${ip}/32 dev ${DEVICE}`), ...[...have].filter((ip) => !want.has(ip)).map((ip) => `addr del ${ip}/32 dev ${DEVICE}`)];
    if (lines.length) await run(['ip', '-batch', '-'], { context: 'set the load balancer addresses', input: `${lines.join('\n')}\n` });
  }

  private async checkAll(): Promise<void> {
    const startedAt = Date.now();
    const results = await Promise.all(this.targets().map(async (t) => ({ t, error: await probe(t.ip, t.check) })));
    for (const { t, error } of results) {
      if (this.health.record(t.key, error === undefined, error)) {
        const what = t.check.kind === 'none' ? 'no check' : `${t.check.kind} ${t.ip}:${t.check.port}`;
        log(`load balancer: node ${t.node} ${error === undefined ? 'healthy' : `unhealthy (${what}: ${error})`}`);
      }
    }
    this.roundStartedAt = startedAt;
  }

  private async program(force: boolean): Promise<void> {
    const healthyFor = (check: HealthCheck) => (node: string) => this.health.isHealthy(healthTargetKey(node, check));
    const targets = new Map(this.set.balancers.map((lb) => [lb.service, targetsOf(this.set, lb, healthyFor(lb.healthCheck))]));
    const text = renderLoadBalancerRules(this.set, (lb) => targets.get(lb.service) ?? []);
    if (text !== this.applied || force) {
      await run(['nft', '-f', '-'], { context: 'program the load balancer', input: text });
      this.applied = text;
      await this.forgetRemovedNodes(targets);
      this.lastTargets = targets;
      log(`load balancer: forwarding ${[...targets].map(([svc, nodes]) => `${svc} -> ${nodes.join(',')}`).join('; ') || 'nothing'}`);
    }
    this.writeState(targets);
  }

  /** Flows already pinned to a node that left are dropped from conntrack, so their next packet is balanced anew. */
  private async forgetRemovedNodes(targets: Map<string, string[]>): Promise<void> {
    const ipOf = new Map(this.set.nodes.map((n) => [n.name, n.ip]));
    for (const lb of this.set.balancers) {
      const now = new Set(targets.get(lb.service) ?? []);
      for (const node of this.lastTargets.get(lb.service) ?? []) {
        const ip = ipOf.get(node);
        if (now.has(node) || !ip) continue;
        await run(['conntrack', '-D', '-d', lb.ip, '-r', ip], { context: `forget ${lb.service} flows to ${node}`, allowFailure: true });
      }
    }
  }

  private writeState(targets: Map<string, string[]>): void {
    const balancers = this.set.balancers.map((lb) => ({
      service: lb.service,
      ip: lb.ip,
      ports: lb.ports,
      sourceRanges: lb.sourceRanges,
      healthCheck: lb.healthCheck,
      targets: targets.get(lb.service) ?? [],
      nodes: this.set.nodes.map((n) => {
        const key = healthTargetKey(n.name, lb.healthCheck);
        const lastError = this.health.lastError(key);
        return { name: n.name, ip: n.ip, healthy: this.health.isHealthy(key), ...(lastError ? { lastError } : {}) };
      }),
    }));
    const state = { checkedSince: new Date(this.roundStartedAt).toISOString(), balancers };
    const text = JSON.stringify(state);
    if (text !== this.lastState) {
      this.ctx.writeState(state);
      this.lastState = text;
    }
  }

}

function parseSet(text: string, path: string): LoadBalancerSet {
  const set = JSON.parse(text) as LoadBalancerSet;
  if (!Array.isArray(set?.nodes) || !Array.isArray(set.balancers)) throw new Error(`${path} is not a load balancer config (nodes, balancers)`);
  return set;
}

runDaemon<LoadBalancerSet>({
  program: 'components/load-balancer/main.js',
  parse: parseSet,
  create(ctx) {
    const lb = new LoadBalancer(ctx);
    let timer: NodeJS.Timeout | undefined;
    return {
      async start(set) {
        lb.configure(set);
        await lb.round();
        timer = setInterval(() => lb.tick(), HEALTH.intervalMs);
      },
      // A new config, or SIGHUP (`up` and `apply` waiting for a round of checks): a round at once.
      async reload(set) {
        lb.configure(set);
        await lb.round();
      },
      stop: () => clearInterval(timer),
    };
  },
});
