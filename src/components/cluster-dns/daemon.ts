/**
 * The parts of the DNS daemon (main.ts) that do not need a process of
 * their own: its command line, the data file's reader and checks, the
 * state file's content and the Prometheus text.
 */
import { isAbsolute, join } from 'node:path';
import type { DnsServerData } from './data.js';
import { parseUpstream, type DnsServer } from './server.js';
import { parseDaemonArgs } from '../../runtime/daemon.js';
import type { DaemonSpec } from '../../model/daemons.js';
import type { Plan } from '../../model/types.js';
import { CLUSTER_DNS } from '../../spec/cluster-dns.js';

/** Data files of the DNS servers, in the run directory; the agent rewrites them on every change of the records. */
export const CLUSTER_DNS_DATA = 'dns-cluster.json';
export const RESOLVER_DATA = 'dns-internet.json';
export const RESOLVER_DAEMON = 'dns/internet-resolver';

/**
 * The DNS servers: one in every pod whose container runs the cluster DNS
 * (serving 53 and CoreDNS's ready, health and metrics ports in the pod),
 * and the internet's resolver in the internet router's namespace. Their
 * config is the records file `--data` names, which the agent publishes as
 * readiness changes.
 */
export function dnsDaemons(plan: Plan): DaemonSpec[] {
  const d = CLUSTER_DNS;
  const cluster: DaemonSpec[] = plan.pods
    .filter((p) => p.containers.some((c) => c.program === 'cluster-dns'))
    .map((p) => {
      const name = `dns/${p.namespace}/${p.name}`;
      return {
        name,
        netns: p.netns,
        module: 'components/cluster-dns',
        args: ['--name', name, '--data', CLUSTER_DNS_DATA, '--port', String(d.dnsPort), '--ready-port', String(d.readyPort), '--health-port', String(d.healthPort), '--metrics-port', String(d.metricsPort)],
      };
    });
  const resolver: DaemonSpec = {
    name: RESOLVER_DAEMON,
    netns: plan.internet.netns,
    module: 'components/cluster-dns',
    args: ['--name', RESOLVER_DAEMON, '--data', RESOLVER_DATA, '--address', plan.internet.resolver.ip, '--port', String(d.dnsPort)],
  };
  return [...cluster, resolver];
}

/** The DNS daemon's command line, for the daemon runtime: its config is the data file `--data` names. */
export const DNS_ARGS = {
  program: 'components/cluster-dns/main.js',
  flags: { data: 'FILE', port: '53', address: '0.0.0.0', 'ready-port': 'N', 'health-port': 'N', 'metrics-port': 'N' },
  configFlag: 'data',
} as const;

export interface DaemonOptions {
  runDir: string;
  /** The daemon's name (`dns/kube-system/coredns-...`): its state file's name comes from it. */
  name: string;
  /** The data file, absolute (a relative --data is under runDir). */
  data: string;
  port: number;
  /**
   * The address to serve on; every address of the namespace by default. A
   * server on a secondary address must bind it, or its UDP answers would
   * leave from the primary one and resolvers would drop them.
   */
  address: string;
  readyPort?: number;
  healthPort?: number;
  metricsPort?: number;
}

/** The options of a command line the runtime has split into its flags; throws on a bad port. */
export function dnsOptions(runDir: string, name: string, flags: ReadonlyMap<string, string>): DaemonOptions {
  const port = (key: string): number | undefined => {
    const v = flags.get(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 65535) throw new Error(`--${key} must be a port number (0-65535), not '${v}'`);
    return n;
  };
  const data = flags.get('data')!;
  const opts: DaemonOptions = { runDir, name, data: isAbsolute(data) ? data : join(runDir, data), port: port('port') ?? 53, address: flags.get('address') ?? '0.0.0.0' };
  const ready = port('ready-port');
  const health = port('health-port');
  const metrics = port('metrics-port');
  if (ready !== undefined) opts.readyPort = ready;
  if (health !== undefined) opts.healthPort = health;
  if (metrics !== undefined) opts.metricsPort = metrics;
  return opts;
}

/** Reads `<runDir> --flag value ...`; throws with the usage on anything else. */
export function parseArgs(argv: string[]): DaemonOptions {
  const args = parseDaemonArgs(argv, DNS_ARGS);
  if (typeof args === 'string') throw new Error(args);
  return dnsOptions(args.runDir, args.name, args.flags);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
const isUint = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;

/** What is wrong with a data snapshot, or undefined when the server can use it. */
export function dataProblem(x: unknown): string | undefined {
  if (!isObject(x)) return 'not a JSON object';
  if (!isUint(x.ttl, 2 ** 31 - 1)) return "'ttl' must be a whole number of seconds";
  if (!isUint(x.serial, 2 ** 32 - 1)) return "'serial' must be a whole number below 2^32";
  if (!Array.isArray(x.hosts)) return "'hosts' must be a list";
  for (const [i, h] of x.hosts.entries()) {
    if (!isObject(h) || typeof h.name !== 'string' || h.name === '' || !isStringArray(h.addresses)) return `hosts[${i}] must have a name and a list of addresses`;
  }
  if (!isStringArray(x.upstream)) return "'upstream' must be a list of 'ip' or 'ip:port'";
  for (const u of x.upstream) {
    try {
      parseUpstream(u);
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (x.cluster === undefined) return undefined;
  const c = x.cluster;
  if (!isObject(c)) return "'cluster' must be an object";
  if (typeof c.domain !== 'string' || c.domain === '') return "'cluster.domain' must be a domain name";
  if (!isStringArray(c.namespaces)) return "'cluster.namespaces' must be a list of names";
  if (!isStringArray(c.reverseCidrs)) return "'cluster.reverseCidrs' must be a list of CIDRs";
  if (typeof c.schemaVersion !== 'string') return "'cluster.schemaVersion' must be a string";
  if (!Array.isArray(c.services)) return "'cluster.services' must be a list";
  for (const [i, s] of c.services.entries()) {
    const where = `cluster.services[${i}]`;
    if (!isObject(s) || typeof s.namespace !== 'string' || typeof s.name !== 'string') return `${where} must have a namespace and a name`;
    if (s.kind !== 'ClusterIP' && s.kind !== 'Headless' && s.kind !== 'ExternalName') return `${where} (${s.namespace}/${s.name}): kind must be ClusterIP, Headless or ExternalName`;
    if (!Array.isArray(s.ports) || !s.ports.every((p) => isObject(p) && typeof p.name === 'string' && typeof p.protocol === 'string' && isUint(p.port, 65535))) return `${where} (${s.namespace}/${s.name}): bad ports`;
    if (!Array.isArray(s.endpoints) || !s.endpoints.every((e) => isObject(e) && typeof e.ip === 'string' && Array.isArray(e.ports))) return `${where} (${s.namespace}/${s.name}): bad endpoints`;
  }
  return undefined;
}

/** Parses and checks a data file's text; `source` names it in the error. */
export function parseData(text: string, source: string): DnsServerData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON (${(err as Error).message})`);
  }
  const problem = dataProblem(parsed);
  if (problem) throw new Error(`${source} is not DNS server data: ${problem}`);
  return parsed as DnsServerData;
}

/** One line for the log: serial and counts. */
export function describeData(server: DnsServer): string {
  const d = server.data;
  return `serial ${d.serial}, ${d.cluster ? `zone ${d.cluster.domain}, ${d.cluster.services.length} services, ` : ''}${d.hosts.length} hosts, ${server.zone.recordCount} records, upstream ${d.upstream.join(' ') || 'none'}`;
}

/** The state file's content: written once serving, and after every reload. */
export function stateOf(opts: DaemonOptions, server: DnsServer, http: { ready?: number; health?: number; metrics?: number }, now = new Date()) {
  const d = server.data;
  return {
    name: opts.name,
    address: opts.address,
    port: server.port,
    ...(http.ready !== undefined ? { readyPort: http.ready } : {}),
    ...(http.health !== undefined ? { healthPort: http.health } : {}),
    ...(http.metrics !== undefined ? { metricsPort: http.metrics } : {}),
    serial: d.serial,
    services: d.cluster?.services.length ?? 0,
    hosts: d.hosts.length,
    records: server.zone.recordCount,
    updatedAt: now.toISOString(),
  };
}

/** Prometheus text exposition, with CoreDNS's metric names where one fits. */
export function metricsText(server: DnsServer): string {
  const c = server.counters;
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  metric('coredns_dns_requests_total', 'counter', 'DNS messages received, by transport.', Object.entries(c.requests).map(([proto, n]) => [`{proto="${proto}"}`, n]));
  metric('coredns_dns_responses_total', 'counter', 'DNS responses sent, by rcode.', Object.entries(c.responses).sort(([a], [b]) => a.localeCompare(b)).map(([rcode, n]) => [`{rcode="${rcode}"}`, n]));
  metric('coredns_cache_hits_total', 'counter', 'Queries answered from the cache.', [['', c.cacheHits]]);
  metric('coredns_cache_misses_total', 'counter', 'Cacheable queries not in the cache.', [['', c.cacheMisses]]);
  metric('coredns_cache_entries', 'gauge', 'Answers in the cache.', [['', server.cacheSize]]);
  metric('coredns_forward_requests_total', 'counter', 'Queries sent upstream.', [['', c.forwards]]);
  metric('kube_netlab_dns_forward_failures_total', 'counter', 'Upstream queries without an answer in time.', [['', c.forwardFailures]]);
  metric('kube_netlab_dns_truncated_total', 'counter', 'UDP responses sent truncated.', [['', c.truncated]]);
  metric('kube_netlab_dns_dropped_total', 'counter', 'Messages dropped without an answer.', [['', c.dropped]]);
  metric('kube_netlab_dns_serial', 'gauge', 'Serial of the data served.', [['', server.data.serial]]);
  metric('kube_netlab_dns_records', 'gauge', 'Resource records the data defines.', [['', server.zone.recordCount]]);
  return `${out.join('\n')}\n`;
}
