/**
 * The cloud's load balancer, a daemon in the lab's load-balancer namespace:
 *
 *   node dist/components/load-balancer/main.js <runDir> --name <daemon>
 *
 * It reads the lab's plan (and again whenever `apply` replaces it), holds
 * every load-balancer IP on its interface, health-checks each node every
 * second and programs the forwarding to the healthy nodes' node ports
 * (lb-rules.ts). Its state file, `<runDir>/<daemonStateFile>`, says which
 * nodes serve each load balancer; every change of health is logged with
 * its time, so a failover can be measured from the log. SIGTERM or SIGINT:
 * exit 0, leaving the rules (the namespace goes with the lab).
 */
import { readFileSync } from 'node:fs';
import { httpProbe, tcpProbe } from '../../runtime/probe-net.js';
import { join } from 'node:path';
import { log } from '../../runtime/log.js';
import { PLAN_FILE } from '../../runtime/run-dir.js';
import { run } from '../../kernel/exec.js';
import { daemonStateFile } from '../../model/daemons.js';
import type { Plan } from '../../model/types.js';
import { fileIdentity, writeAtomic } from '../../util/files.js';
import { healthTargetKey, loadBalancersOf, type HealthCheck, type LoadBalancerSet } from './config.js';
import { HEALTH, HealthTable } from './health.js';
import { renderLoadBalancerRules, targetsOf } from './lb-rules.js';

const DEVICE = 'eth0';

function parseArgs(argv: string[]): { runDir: string; name: string } {
  const [runDir, ...rest] = argv;
  const i = rest.indexOf('--name');
  const name = i >= 0 ? rest[i + 1] : undefined;
  if (!runDir || !name) {
    process.stderr.write('usage: node dist/components/load-balancer/main.js <runDir> --name <daemon>\n');
    process.exit(2);
  }
  return { runDir, name };
}

/** undefined when the node passes, else why not. */
async function probe(ip: string, check: HealthCheck): Promise<string | undefined> {
  if (check.kind === 'none') return undefined;
  const job = { id: 0, ip, port: check.port, timeoutMs: HEALTH.timeoutMs };
  const r = check.kind === 'tcp' ? await tcpProbe({ ...job, kind: 'tcp' }) : await httpProbe({ ...job, kind: 'http', path: check.path });
  return r.ok ? undefined : r.detail;
}

class LoadBalancer {
  private set: LoadBalancerSet = { nodes: [], balancers: [] };
  private planId = '';
  private readonly health = new HealthTable();
  private applied = '';
  private running = false;
  /** The nodes each service was last programmed to send to. */
  private lastTargets = new Map<string, string[]>();
  private lastState = '';
  /** When the last completed round of checks started: a caller that changed something before then sees its effect. */
  private roundStartedAt = 0;

  constructor(
    private readonly runDir: string,
    private readonly name: string,
  ) {}

  async tick(): Promise<void> {
    if (this.running) return; // a slow nft never piles up ticks
    this.running = true;
    try {
      const changed = await this.reloadPlan();
      await this.checkAll();
      await this.program(changed);
    } catch (err) {
      log(`load balancer: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  private async reloadPlan(): Promise<boolean> {
    const file = join(this.runDir, PLAN_FILE);
    const id = fileIdentity(file);
    if (id === this.planId) return false;
    const plan = JSON.parse(readFileSync(file, 'utf8')) as Plan;
    this.set = loadBalancersOf(plan);
    this.planId = id;
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
    const text = JSON.stringify({ pid: process.pid, checkedSince: new Date(this.roundStartedAt).toISOString(), balancers }, null, 2);
    if (text !== this.lastState) {
      writeAtomic(join(this.runDir, daemonStateFile({ name: this.name })), `${text}\n`);
      this.lastState = text;
    }
  }

}

const { runDir, name } = parseArgs(process.argv.slice(2));
const lb = new LoadBalancer(runDir, name);
const timer = setInterval(() => void lb.tick(), HEALTH.intervalMs);
void lb.tick();
// SIGHUP: from the agent after it replaced the plan, from `up` and `apply` waiting for a round of checks; run one at once.
process.on('SIGHUP', () => void lb.tick());
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    clearInterval(timer);
    process.exit(0);
  });
}
