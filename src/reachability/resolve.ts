/**
 * ReachabilityTests against a plan (pure): rows, columns and ports resolved
 * to pods and port numbers, every cell with the user's expectation, the
 * engine's prediction and what to connect to. Anything a test names that the
 * plan does not have (a pod, a namespace, a port, a Service for `via:
 * service`) is a problem with the line to fix, so `up` and `apply` refuse
 * the input before changing anything.
 */
import { resolveTargetPort } from '../model/endpoints.js';
import { CLUSTER_DNS } from '../spec/cluster-dns.js';
import { INGRESS_NGINX } from '../spec/ingress.js';
import type { ProxyServicePort } from '../model/services.js';
import type { ExternalHostPlan, Plan, PodPlan } from '../model/types.js';
import type { SourceRef } from '../spec/lab.js';
import { matchesSelector } from '../components/network-policy/selectors.js';
import type { PolicyEngine } from '../components/network-policy/engine.js';
import type { PolicyProtocol } from '../spec/network-policy.js';
import { ConfigError, type ConfigProblem } from '../util/errors.js';
import { predict, type Prediction, type Source, type Target, type World } from './predict.js';
import type { ReachPeerSpec, ReachPortSpec, ReachabilityTestSpec, Result, Via } from '../spec/reachability.js';

/** A row or column: a pod, or (rows only) an external client. */
export type Member = { key: string; pod: PodPlan; client?: undefined } | { key: string; client: ExternalHostPlan; pod?: undefined };

export interface TablePort {
  /** `80/TCP`, or `serve-80-tcp/TCP` for a port given by name. */
  label: string;
  protocol: PolicyProtocol;
  spec?: ReachPortSpec;
}

export interface Cell {
  test: string;
  from: string;
  to: string;
  /** The table (port) the cell belongs to. */
  table: string;
  port: number;
  protocol: PolicyProtocol;
  /** `FROM -> TO:PORT/PROTO`, the cell's test-case name. */
  name: string;
  expected: Result;
  prediction: Prediction;
  /** What `verify` connects to from where; absent for SCTP, which is predicted only. */
  probe?: { netns: string; ip: string; port: number; protocol: 'TCP' | 'UDP' };
  /** How the probe reaches the target, for reports: `pod IP`, `ClusterIP of x/s-x-a`, ... */
  via: string;
}

export interface ResolvedTest {
  name: string;
  via: Via;
  rows: string[];
  columns: string[];
  tables: TablePort[];
  cells: Cell[];
}

/** The add-ons' namespaces: not among a test's default rows and columns, which are the lab file's own. */
const ADDON_NAMESPACES: ReadonlySet<string> = new Set([CLUSTER_DNS.namespace, INGRESS_NGINX.namespace]);

class Resolver {
  readonly problems: ConfigProblem[] = [];
  private readonly pods: Map<string, PodPlan>;

  constructor(
    private readonly world: World,
    private readonly test: ReachabilityTestSpec,
  ) {
    this.pods = new Map(world.plan.pods.map((p) => [p.key, p]));
  }

  private get plan(): Plan {
    return this.world.plan;
  }

  private get engine(): PolicyEngine {
    return this.world.engine;
  }

  problem(source: SourceRef, message: string): void {
    this.problems.push({ code: 'bad-value', source, message: `ReachabilityTest ${this.test.name}: ${message}` });
  }

  /** Every member a peer names, in plan order; a problem when it names something that does not exist. */
  members(peer: ReachPeerSpec, where: string, rows: boolean): Member[] {
    switch (peer.kind) {
      case 'pod': {
        const pod = this.pods.get(`${peer.namespace}/${peer.name}`);
        if (!pod) {
          const there = this.plan.pods.filter((p) => p.namespace === peer.namespace).map((p) => p.name);
          this.problem(peer.source, `${where} names pod ${peer.namespace}/${peer.name}, which does not exist${there.length ? `; pods of ${peer.namespace}: ${there.join(', ')}` : ''}`);
          return [];
        }
        return [{ key: pod.key, pod }];
      }
      case 'namespace':
        if (!this.plan.spec.namespaces.includes(peer.namespace)) {
          this.problem(peer.source, `${where} names namespace ${peer.namespace}, which does not exist; namespaces: ${this.plan.spec.namespaces.join(', ')}`);
          return [];
        }
        return this.plan.pods.filter((p) => p.namespace === peer.namespace).map((pod) => ({ key: pod.key, pod }));
      case 'selector':
        return this.plan.pods
          .filter((p) => (!peer.namespaceSelector || matchesSelector(peer.namespaceSelector, this.engine.namespaceLabels(p.namespace))) && (!peer.podSelector || matchesSelector(peer.podSelector, p.labels)))
          .map((pod) => ({ key: pod.key, pod }));
      case 'external': {
        const client = this.plan.internet.clients.find((c) => c.name === peer.name);
        if (!rows) {
          this.problem(peer.source, `${where}: an external client can only be a source (in from); it is not a pod to connect to`);
          return [];
        }
        if (!client) {
          this.problem(peer.source, `${where} names external client ${peer.name}, which does not exist; external clients: ${this.plan.internet.clients.map((c) => c.name).join(', ')}`);
          return [];
        }
        return [{ key: client.name, client }];
      }
    }
  }

  /** Rows or columns: the peers' members in order, or every pod of the lab file's namespaces. */
  axis(peers: ReachPeerSpec[] | undefined, where: 'from' | 'to'): Member[] {
    const list = peers ? peers.flatMap((p, i) => this.members(p, `${where}[${i}]`, where === 'from')) : this.plan.pods.filter((p) => !ADDON_NAMESPACES.has(p.namespace)).map((pod) => ({ key: pod.key, pod }));
    const seen = new Set<string>();
    return list.filter((m) => !seen.has(m.key) && seen.add(m.key));
  }

  /** The container port `spec` means on `pod`, or undefined when the pod does not serve it (SCTP: the number itself). */
  static portOn(pod: PodPlan, port: number | string, protocol: PolicyProtocol): number | undefined {
    if (protocol === 'SCTP') return typeof port === 'number' ? port : undefined;
    for (const c of pod.containers) {
      for (const p of c.ports) {
        if (p.protocol !== protocol) continue;
        if (typeof port === 'number' ? p.containerPort === port : p.name === port) return p.containerPort;
      }
    }
    return undefined;
  }

  tables(columns: Member[]): TablePort[] {
    if (this.test.ports) {
      return this.test.ports.flatMap((spec) => {
        const label = `${spec.port}/${spec.protocol}`;
        if (!columns.some((c) => c.pod && Resolver.portOn(c.pod, spec.port, spec.protocol) !== undefined)) {
          const why = spec.protocol === 'SCTP' ? 'pods serve no SCTP ports here, so an SCTP port must be a number' : `no target declares ${typeof spec.port === 'number' ? `container port ${label}` : `a container port named ${spec.port} (${spec.protocol})`}`;
          this.problem(spec.source, `port ${label}: ${why}`);
          return [];
        }
        return [{ label, protocol: spec.protocol, spec }];
      });
    }
    const seen = new Map<string, TablePort>();
    for (const c of columns) {
      for (const ctr of c.pod?.containers ?? []) for (const p of ctr.ports) seen.set(`${p.containerPort}/${p.protocol}`, { label: `${p.containerPort}/${p.protocol}`, protocol: p.protocol });
    }
    return [...seen.values()].sort((a, b) => Number.parseInt(a.label) - Number.parseInt(b.label) || a.protocol.localeCompare(b.protocol));
  }

  /** The Service port through which `via: service` reaches `pod`'s container port, preferring Services selecting fewest pods. */
  servicePort(pod: PodPlan, port: number, protocol: PolicyProtocol): ProxyServicePort | undefined {
    const candidates = this.plan.services
      .filter((s) => s.namespace === pod.namespace && s.selector && Object.keys(s.selector).length && s.clusterIP && s.clusterIP !== 'None' && Object.entries(s.selector).every(([k, v]) => pod.labels[k] === v))
      .flatMap((s) => s.ports.filter((p) => p.protocol === protocol && resolveTargetPort(pod, p) === port).map((p) => ({ s, p })));
    const size = (s: (typeof candidates)[number]['s']) => this.plan.pods.filter((q) => q.namespace === s.namespace && Object.entries(s.selector!).every(([k, v]) => q.labels[k] === v)).length;
    candidates.sort((a, b) => size(a.s) - size(b.s) || a.s.name.localeCompare(b.s.name));
    const pick = candidates[0];
    if (!pick) return undefined;
    const view = this.world.proxy.get(pod.node);
    return view?.services.find((x) => x.namespace === pick.s.namespace && x.service === pick.s.name && x.port === pick.p.port && x.protocol === pick.p.protocol);
  }

  /** The cell's target and how a probe gets there. */
  target(row: Member, col: PodPlan, port: number, protocol: PolicyProtocol): { target: Target; ip?: string; probePort?: number; via: string } | undefined {
    const podIp = { target: { kind: 'pod' as const, pod: col, port }, ip: col.ip, probePort: port, via: col.hostNetwork ? `node IP of ${col.node} (hostNetwork)` : 'pod IP' };
    if (this.test.via === 'pod' || protocol === 'SCTP') return podIp;
    const sp = this.servicePort(col, port, protocol);
    if (!sp) return undefined;
    if (!row.client) return { target: { kind: 'service', sp }, ip: sp.clusterIP, probePort: sp.port, via: `ClusterIP of ${sp.namespace}/${sp.service}` };
    const svc = this.plan.services.find((s) => s.namespace === sp.namespace && s.name === sp.service)!;
    if (svc.loadBalancerIP) {
      return { target: { kind: 'load-balancer', ip: svc.loadBalancerIP, sp, sourceRanges: svc.loadBalancerSourceRanges ?? [] }, ip: svc.loadBalancerIP, probePort: sp.port, via: `load-balancer IP of ${svc.key}` };
    }
    const node = this.plan.nodes.find((n) => n.name === col.node)!;
    if (sp.nodePort !== undefined) return { target: { kind: 'node-port', node, sp }, ip: node.ip, probePort: sp.nodePort, via: `NodePort ${sp.nodePort} of ${svc.key} on ${node.name}` };
    return { target: { kind: 'service', sp }, ip: sp.clusterIP, probePort: sp.port, via: `ClusterIP of ${svc.key}` };
  }

  /** Whether an expectation entry's ports include the cell's. */
  static portMatches(ports: ReachPortSpec[] | undefined, pod: PodPlan, port: number, protocol: PolicyProtocol): boolean {
    return !ports || ports.some((p) => p.protocol === protocol && Resolver.portOn(pod, p.port, p.protocol) === port);
  }

  resolve(): ResolvedTest {
    const t = this.test;
    const rows = this.axis(t.from, 'from');
    const columns = this.axis(t.to, 'to').filter((m): m is Member & { pod: PodPlan } => m.pod !== undefined);
    const tables = this.tables(columns);
    const expectations = t.expect.map((e, i) => {
      const from = e.from ? new Set(this.members(e.from, `expect[${i}].from`, true).map((m) => m.key)) : undefined;
      const to = e.to ? new Set(this.members(e.to, `expect[${i}].to`, false).map((m) => m.key)) : undefined;
      if (from && !rows.some((r) => from.has(r.key))) this.problem(e.from!.source, `expect[${i}].from matches no row of the test (rows: ${rows.map((r) => r.key).join(', ') || 'none'})`);
      if (to && !columns.some((c) => to.has(c.key))) this.problem(e.to!.source, `expect[${i}].to matches no column of the test (columns: ${columns.map((c) => c.key).join(', ') || 'none'})`);
      for (const p of e.ports ?? []) {
        const probed = columns.some((c) => {
          const n = Resolver.portOn(c.pod, p.port, p.protocol);
          return n !== undefined && tables.some((tp) => tp.protocol === p.protocol && Resolver.portOn(c.pod, tp.spec?.port ?? Number.parseInt(tp.label), tp.protocol) === n);
        });
        if (!probed) this.problem(p.source, `expect[${i}].ports: ${p.port}/${p.protocol} is not a port the test probes on any of its columns`);
      }
      return { ...e, fromKeys: from, toKeys: to };
    });
    const cells: Cell[] = [];
    const missing = new Set<string>();
    for (const tp of tables) {
      for (const row of rows) {
        for (const col of columns) {
          if (row.key === col.key) continue; // a pod's traffic to itself is not policed; upstream ignores these cells too
          const port = Resolver.portOn(col.pod, tp.spec?.port ?? Number.parseInt(tp.label), tp.protocol);
          if (port === undefined) continue;
          const tgt = this.target(row, col.pod, port, tp.protocol);
          if (!tgt) {
            if (!missing.has(`${col.key} ${port}/${tp.protocol}`)) this.problem(t.source, `via: service, but no Service selects ${col.key} with a port that reaches its ${port}/${tp.protocol}; add one, or use via: pod`);
            missing.add(`${col.key} ${port}/${tp.protocol}`);
            continue;
          }
          let expected = t.default;
          for (const e of expectations) {
            if ((!e.fromKeys || e.fromKeys.has(row.key)) && (!e.toKeys || e.toKeys.has(col.key)) && Resolver.portMatches(e.ports, col.pod, port, tp.protocol)) expected = e.result;
          }
          const src: Source = row.client ? { kind: 'external', client: row.client } : { kind: 'pod', pod: row.pod };
          const netns = row.client ? row.client.netns : row.pod.netns;
          cells.push({
            test: t.name,
            from: row.key,
            to: col.key,
            table: tp.label,
            port,
            protocol: tp.protocol,
            name: `${row.key} -> ${col.key}:${port}/${tp.protocol}`,
            expected,
            prediction: predict(this.world, src, tgt.target, tp.protocol),
            ...(tp.protocol !== 'SCTP' && tgt.ip ? { probe: { netns, ip: tgt.ip, port: tgt.probePort!, protocol: tp.protocol } } : {}),
            via: tgt.via,
          });
        }
      }
    }
    return { name: t.name, via: t.via, rows: rows.map((r) => r.key), columns: columns.map((c) => c.key), tables, cells };
  }
}

/** Every ReachabilityTest of the plan, resolved; `problems` lists what the tests name that the plan lacks. */
export function resolveReachabilityTests(world: World): { tests: ResolvedTest[]; problems: ConfigProblem[] } {
  const tests: ResolvedTest[] = [];
  const problems: ConfigProblem[] = [];
  for (const spec of world.plan.spec.reachabilityTests ?? []) {
    const r = new Resolver(world, spec);
    tests.push(r.resolve());
    problems.push(...r.problems);
  }
  return { tests, problems };
}

/**
 * Refuses a plan whose ReachabilityTests name what does not exist, before
 * `up` or `apply` changes anything (every pod counts as ready here: the
 * tests are checked against the pods, not their state).
 */
export function checkReachabilityTests(world: World): void {
  const { problems } = resolveReachabilityTests(world);
  if (problems.length) throw new ConfigError(problems);
}
