/**
 * What a lab DNS server answers, pure: an index built from one data
 * snapshot, and a function from a question to an answer (or to "forward",
 * for names this server is not authoritative for). No sockets, no clock.
 *
 * The cluster zone follows the Kubernetes DNS-Based Service Discovery
 * specification, schema 1.1.0, and CoreDNS's kubernetes plugin (as kubeadm
 * configures it: `pods insecure`, `fallthrough in-addr.arpa`) where the
 * specification is silent:
 *
 *   <svc>.<ns>.svc.<zone>                   A: the ClusterIP, or one per ready endpoint (headless)
 *   <ep>.<svc>.<ns>.svc.<zone>              A: one endpoint, by hostname or dashed IP (`10-244-1-5`)
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV: named ports only
 *   <svc>.<ns>.svc.<zone>                   SRV: one per (target, port) of the named ports
 *   <svc>.<ns>.svc.<zone>                   CNAME: ExternalName services, for every type
 *   <d>.<c>.<b>.<a>.in-addr.arpa            PTR: ClusterIPs and headless endpoints
 *   <a>-<b>-<c>-<d>.<ns>.pod.<zone>         A: the address in the name (`pods insecure`)
 *   dns-version.<zone>                      TXT: the schema version
 *   <zone>                                  SOA, NS (`ns.dns.<zone>`, A = the kube-dns ClusterIP)
 *
 * A name that exists without records of the asked type is NODATA (NOERROR,
 * empty answer); one that does not exist is NXDOMAIN. Both carry an SOA in
 * the authority section, whose minimum (and TTL) is the data's TTL, so
 * resolvers cache the negative answer as long as a positive one:
 *
 *   <zone>.        SOA ns.dns.<zone>. hostmaster.<zone>. <serial> 7200 1800 86400 <ttl>
 *   in-addr.arpa.  SOA ns.dns.<zone>. hostmaster.<zone>. ...   (reverse names)
 *   .              SOA ns.dns.lab. hostmaster.lab. ...         (everything else)
 *
 * The last one is for servers that stand for the whole name space: the
 * internet side's resolver answers its `hosts` and says NXDOMAIN for every
 * other name, as the public DNS would.
 *
 * Exceptions to the CoreDNS behaviour, chosen for the lab:
 *  - headless services without ready endpoints are NXDOMAIN, as the
 *    specification says (§2.4.1);
 *  - SRV on the service name lists named ports only (the specification:
 *    unnamed ports have no SRV record), each (target, port) once, and the
 *    weights are computed over the records returned.
 *
 * Names are compared case-insensitively (ASCII) and answered under the name
 * as asked. Every record's TTL is the data's TTL. Names in records are
 * written without a trailing dot, as dns-packet reads and writes them.
 */
import type { Answer } from 'dns-packet';
import type { DnsEndpoint, DnsPort, DnsServerData, DnsService } from './data.js';
import { ipToInt, prefixMask } from '../../util/addresses.js';

/** A resource record, as dns-packet encodes it. */
export type DnsRecord = Answer;

export interface DnsQuestion {
  name: string;
  /** A record type mnemonic (`A`, `SRV`, ...) as dns-packet decodes it; `ANY` matches every type. */
  type: string;
  /** `IN` when absent. */
  class?: string;
}

export type ZoneRcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED';

/** An answer from this server's own data. */
export interface ZoneAnswer {
  kind: 'answer';
  rcode: ZoneRcode;
  /** Authoritative: set on everything answered from the data. */
  aa: boolean;
  answers: DnsRecord[];
  authority: DnsRecord[];
  additionals: DnsRecord[];
  /**
   * An ExternalName whose target lies outside this server's data, on a
   * server with an upstream: the server resolves `name`/`type` there and
   * appends what it gets after the CNAME (CoreDNS does the same).
   */
  chase?: { name: string; type: string };
}

/** A name this server is not authoritative for, with an upstream to ask. */
export interface ForwardDecision {
  kind: 'forward';
}

export type Decision = ZoneAnswer | ForwardDecision;

/** Zone used for the SOA of names outside the cluster zone and the reverse zone. */
const ROOT_SOA_DOMAIN = 'lab';
const REVERSE_ZONE = 'in-addr.arpa';
const SOA_TIMERS = { refresh: 7200, retry: 1800, expire: 86400 } as const;
/** ExternalName services pointing at each other: how many CNAMEs are followed. */
const MAX_CNAME_CHAIN = 8;

/** Lower-cases ASCII only (DNS case-insensitivity, RFC 4343) and drops a trailing dot. */
export function canonicalName(name: string): string {
  const n = name.endsWith('.') && name !== '.' ? name.slice(0, -1) : name;
  return n.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** An address the zone knows, as an integer; undefined for anything that is not one. */
function ipv4ToInt(ip: string): number | undefined {
  try {
    return ipToInt(ip);
  } catch {
    return undefined;
  }
}

/** A reverse zone's range (its host bits ignored, as CoreDNS's zone list does); undefined when malformed. */
function parseCidr(text: string): { base: number; mask: number } | undefined {
  const [ip, bits, extra] = text.split('/');
  const base = ipv4ToInt(ip ?? '');
  const prefix = Number(bits);
  if (extra !== undefined || base === undefined || bits === '' || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const mask = prefixMask(prefix);
  return { base: (base & mask) >>> 0, mask };
}

/** `5.1.244.10.in-addr.arpa` -> `10.244.1.5`; undefined for anything else. */
export function reverseToIp(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(canonicalName(name));
  if (!m) return undefined;
  const ip = `${Number(m[4])}.${Number(m[3])}.${Number(m[2])}.${Number(m[1])}`;
  return ipv4ToInt(ip) === undefined ? undefined : ip;
}

/** An endpoint's label under its service: its hostname, or its address with dashes (IPv6: colons to dashes). */
export function endpointLabel(e: DnsEndpoint): string {
  return canonicalName(e.hostname ?? e.ip.replace(/[.:]/g, '-'));
}

/**
 * CoreDNS's SRV weight for `n` records of one priority: each gets
 * floor(100 / n) (computed as CoreDNS does, in floating point), at least 1.
 */
export function srvWeight(n: number): number {
  return Math.max(1, Math.floor((100 / (100 * n)) * 100));
}

interface ServiceEntry {
  svc: DnsService;
  /** `<svc>.<ns>.svc.<zone>`, lower case. */
  fqdn: string;
  /** Endpoint label -> its addresses (a hostname may have several). */
  endpoints: Map<string, string[]>;
  /** Protocols (lower case) of the named ports: `_tcp.<svc>...` exists for these. */
  protocols: Set<string>;
}

interface SrvTarget {
  port: number;
  target: string;
  addresses: string[];
}

/** The index a server answers from; built once per data snapshot, never changed. */
export class ZoneIndex {
  readonly ttl: number;
  readonly serial: number;
  /** The cluster domain, lower case without a trailing dot; undefined for a hosts-only server. */
  readonly zone: string | undefined;
  /** Whether names outside the data go to an upstream. */
  readonly forwards: boolean;
  /** How many resource records the data defines (addresses, SRV, PTR, CNAME; not the generated pod names). */
  readonly recordCount: number;
  private readonly schemaVersion: string;
  private readonly namespaces = new Set<string>();
  private readonly services = new Map<string, ServiceEntry>();
  private readonly hosts = new Map<string, string[]>();
  /** Names above a host (`example.net` for `www.example.net`): they exist, without records. */
  private readonly hostAncestors = new Set<string>();
  private readonly ptr = new Map<string, string[]>();
  private readonly reverse: { base: number; mask: number }[] = [];
  /** The addresses of `ns.dns.<zone>`: the kube-dns ClusterIP, when there is one. */
  private readonly nsAddresses: string[] = [];

  constructor(readonly data: DnsServerData) {
    this.ttl = data.ttl;
    this.serial = data.serial;
    this.forwards = data.upstream.length > 0;
    let records = 0;
    for (const h of data.hosts) {
      const name = canonicalName(h.name);
      this.hosts.set(name, [...(this.hosts.get(name) ?? []), ...h.addresses]);
      records += h.addresses.length;
      const labels = name.split('.');
      for (let i = 1; i < labels.length; i++) this.hostAncestors.add(labels.slice(i).join('.'));
    }
    const cluster = data.cluster;
    this.schemaVersion = cluster?.schemaVersion ?? '';
    this.zone = cluster ? canonicalName(cluster.domain) : undefined;
    if (!cluster) {
      this.recordCount = records;
      return;
    }
    for (const ns of cluster.namespaces) this.namespaces.add(canonicalName(ns));
    for (const c of cluster.reverseCidrs) {
      const parsed = parseCidr(c);
      if (parsed) this.reverse.push(parsed);
    }
    for (const svc of cluster.services) {
      const fqdn = canonicalName(`${svc.name}.${svc.namespace}.svc.${this.zone}`);
      const entry: ServiceEntry = { svc, fqdn, endpoints: new Map(), protocols: new Set() };
      for (const p of svc.ports) if (p.name !== '') entry.protocols.add(p.protocol.toLowerCase());
      if (svc.kind !== 'ExternalName') {
        for (const e of svc.endpoints) {
          const label = endpointLabel(e);
          entry.endpoints.set(label, [...(entry.endpoints.get(label) ?? []), e.ip]);
        }
      }
      this.services.set(canonicalName(`${svc.name}.${svc.namespace}`), entry);
      if (svc.kind === 'ClusterIP' && svc.clusterIP) {
        this.addPtr(svc.clusterIP, fqdn);
        records += 2 + namedPortCount(svc);
        if (canonicalName(svc.namespace) === 'kube-system' && canonicalName(svc.name) === 'kube-dns') this.nsAddresses.push(svc.clusterIP);
      } else if (svc.kind === 'Headless') {
        for (const e of svc.endpoints) this.addPtr(e.ip, `${endpointLabel(e)}.${fqdn}`);
        records += svc.endpoints.length * (3 + namedPortCount(svc));
      } else {
        records += 1;
      }
    }
    this.recordCount = records;
  }

  private addPtr(ip: string, name: string): void {
    const list = this.ptr.get(ip) ?? [];
    if (!list.includes(name)) list.push(name);
    this.ptr.set(ip, list);
  }

  /** The lookup of one question; see answer(). */
  answer(q: DnsQuestion): Decision {
    return this.lookup(q.name, canonicalName(q.name), q.type.toUpperCase(), (q.class ?? 'IN').toUpperCase(), 0);
  }

  private lookup(asked: string, name: string, type: string, klass: string, depth: number): Decision {
    if (klass !== 'IN' && klass !== 'ANY') return this.forwards ? { kind: 'forward' } : { kind: 'answer', rcode: 'REFUSED', aa: false, answers: [], authority: [], additionals: [] };
    const host = this.hosts.get(name);
    if (host) return wants(type, 'A') || wants(type, 'AAAA') ? this.addresses(asked, type, host, () => this.negative('NOERROR', '.')) : this.negative('NOERROR', '.');
    const zone = this.zone;
    if (zone !== undefined && (name === zone || name.endsWith(`.${zone}`))) {
      const rel = name === zone ? [] : name.slice(0, -(zone.length + 1)).split('.');
      return new ClusterLookup(this, asked, type, depth).resolve(rel);
    }
    if (zone !== undefined && name.endsWith(`.${REVERSE_ZONE}`)) {
      const ip = reverseToIp(name);
      const targets = ip === undefined ? undefined : this.ptr.get(ip);
      if (targets) return wants(type, 'PTR') ? this.ok(targets.map((t) => this.rr(asked, 'PTR', t))) : this.negative('NOERROR', REVERSE_ZONE);
      // CoreDNS `fallthrough in-addr.arpa`: addresses without a record go on to the upstream.
      if (this.forwards) return { kind: 'forward' };
      if (ip !== undefined && this.inReverseCidrs(ip)) return this.negative('NXDOMAIN', REVERSE_ZONE);
      return this.negative('NXDOMAIN', '.');
    }
    if (this.forwards) return { kind: 'forward' };
    if (this.hostAncestors.has(name)) return this.negative('NOERROR', '.');
    return this.negative('NXDOMAIN', '.');
  }

  /** The SOA of a zone: the cluster zone, the reverse zone, or `.` (see the top of this file). */
  soa(owner: string = this.zone ?? '.'): DnsRecord {
    const domain = this.zone ?? ROOT_SOA_DOMAIN;
    const base = owner === '.' ? ROOT_SOA_DOMAIN : domain;
    return {
      name: owner,
      type: 'SOA',
      ttl: this.ttl,
      class: 'IN',
      data: { mname: `ns.dns.${base}`, rname: `hostmaster.${base}`, serial: this.serial, ...SOA_TIMERS, minimum: this.ttl },
    };
  }

  private inReverseCidrs(ip: string): boolean {
    const n = ipv4ToInt(ip);
    return n !== undefined && this.reverse.some((r) => ((n & r.mask) >>> 0) === r.base);
  }

  rr(name: string, type: 'A' | 'AAAA' | 'CNAME' | 'PTR' | 'NS', data: string): DnsRecord {
    return { name, type, ttl: this.ttl, class: 'IN', data };
  }

  /** A or AAAA records of the addresses the asked type wants; `none` when there are none. */
  addresses(asked: string, type: string, ips: readonly string[], none: () => ZoneAnswer): ZoneAnswer {
    const answers = addressRecords(this, asked, type, ips);
    return answers.length ? this.ok(answers) : none();
  }

  ok(answers: DnsRecord[], additionals: DnsRecord[] = []): ZoneAnswer {
    return { kind: 'answer', rcode: 'NOERROR', aa: true, answers, authority: [], additionals };
  }

  /** NODATA (NOERROR) or NXDOMAIN, with the SOA of `owner`'s zone. */
  negative(rcode: 'NOERROR' | 'NXDOMAIN', owner?: string): ZoneAnswer {
    return { kind: 'answer', rcode, aa: true, answers: [], authority: [this.soa(owner)], additionals: [] };
  }

  hasNamespace(ns: string): boolean {
    return this.namespaces.has(ns);
  }

  service(name: string, ns: string): ServiceEntry | undefined {
    return this.services.get(`${name}.${ns}`);
  }

  version(): string {
    return this.schemaVersion;
  }

  nameServerAddresses(): readonly string[] {
    return this.nsAddresses;
  }

  /** Whether `name` (canonical) is answered from the data: a host, or a name in the cluster zone. */
  holds(name: string): boolean {
    return this.hosts.has(name) || (this.zone !== undefined && (name === this.zone || name.endsWith(`.${this.zone}`)));
  }

  /** Follows a CNAME to a name in the data (one more link of a chain). */
  follow(target: string, type: string, depth: number): Decision {
    return this.lookup(target, target, type, 'IN', depth);
  }
}

function namedPortCount(svc: DnsService): number {
  return svc.ports.filter((p) => p.name !== '').length;
}

function wants(type: string, rrType: string): boolean {
  return type === rrType || type === 'ANY';
}

function addressRecords(z: ZoneIndex, name: string, type: string, ips: readonly string[]): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const ip of ips) {
    const family = ip.includes(':') ? 'AAAA' : 'A';
    if (wants(type, family)) out.push(z.rr(name, family, ip));
  }
  return out;
}

/** Builds the index a server answers from. */
export function buildIndex(data: DnsServerData): ZoneIndex {
  return new ZoneIndex(data);
}

/**
 * Answers one question from the index: records with rcode and AA, or
 * `{ kind: 'forward' }` for a name outside the data when the data has an
 * upstream. Names are matched case-insensitively; answers carry the name as
 * asked.
 */
export function answer(index: ZoneIndex, question: DnsQuestion): Decision {
  return index.answer(question);
}

/** One question inside the cluster zone. */
class ClusterLookup {
  constructor(
    private readonly z: ZoneIndex,
    private readonly asked: string,
    private readonly type: string,
    private readonly depth: number,
  ) {}

  private nodata(): ZoneAnswer {
    return this.z.negative('NOERROR');
  }

  private nx(): ZoneAnswer {
    return this.z.negative('NXDOMAIN');
  }

  /** `rel`: the name's labels in front of the zone, left to right. */
  resolve(rel: string[]): ZoneAnswer {
    const { z, type } = this;
    if (rel.length === 0) return this.apex();
    const top = rel[rel.length - 1]!;
    if (rel.length === 1 && top === 'dns-version') return wants(type, 'TXT') ? z.ok([{ name: this.asked, type: 'TXT', ttl: z.ttl, class: 'IN', data: [z.version()] }]) : this.nodata();
    if (top === 'dns') {
      if (rel.length === 1) return this.nodata();
      if (rel.length === 2 && rel[0] === 'ns') return z.addresses(this.asked, type, z.nameServerAddresses(), () => this.nodata());
      return this.nx();
    }
    if (top === 'svc') return this.svc(rel.slice(0, -1));
    if (top === 'pod') return this.pod(rel.slice(0, -1));
    return this.nx();
  }

  private apex(): ZoneAnswer {
    const { z, type } = this;
    const answers: DnsRecord[] = [];
    if (wants(type, 'SOA')) answers.push({ ...z.soa(), name: this.asked });
    if (wants(type, 'NS')) answers.push(z.rr(this.asked, 'NS', `ns.dns.${z.zone}`));
    return answers.length ? z.ok(answers) : this.nodata();
  }

  private pod(rel: string[]): ZoneAnswer {
    const { z } = this;
    if (rel.length === 0) return this.nodata();
    const ns = rel[rel.length - 1]!;
    if (!z.hasNamespace(ns)) return this.nx();
    if (rel.length === 1) return this.nodata();
    const label = rel[0]!;
    if (rel.length > 2 || !/^\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}$/.test(label)) return this.nx();
    const ip = label.split('-').map(Number).join('.');
    if (ipv4ToInt(ip) === undefined) return this.nx();
    return z.addresses(this.asked, this.type, [ip], () => this.nodata());
  }

  private svc(rel: string[]): ZoneAnswer {
    const { z } = this;
    if (rel.length === 0) return this.nodata();
    const ns = rel[rel.length - 1]!;
    if (!z.hasNamespace(ns)) return this.nx();
    if (rel.length === 1) return this.nodata();
    const entry = z.service(rel[rel.length - 2]!, ns);
    if (!entry) return this.nx();
    const below = rel.slice(0, -2);
    if (below.length === 0) return this.service(entry);
    if (entry.svc.kind === 'ExternalName') return this.nx();
    if (below.length === 1) {
      const label = below[0]!;
      const proto = /^_(tcp|udp|sctp)$/.exec(label);
      if (proto) return entry.protocols.has(proto[1]!) ? this.nodata() : this.nx();
      const ips = entry.endpoints.get(label);
      if (!ips) return this.nx();
      return z.addresses(this.asked, this.type, ips, () => this.nodata());
    }
    if (below.length === 2 && below[0]!.startsWith('_') && below[1]!.startsWith('_')) return this.portSrv(entry, below[0]!.slice(1), below[1]!.slice(1));
    return this.nx();
  }

  private service(entry: ServiceEntry): ZoneAnswer {
    const { z, type } = this;
    const svc = entry.svc;
    if (svc.kind === 'ExternalName') return this.externalName(svc);
    if (svc.kind === 'Headless' && svc.endpoints.length === 0) return this.nx();
    if (type === 'SRV') return this.srv(entry, svc.ports.filter((p) => p.name !== ''));
    const ips = svc.kind === 'ClusterIP' ? (svc.clusterIP ? [svc.clusterIP] : []) : [...new Set(svc.endpoints.map((e) => e.ip))];
    return z.addresses(this.asked, type, ips, () => this.nodata());
  }

  private externalName(svc: DnsService): ZoneAnswer {
    const { z, type } = this;
    const target = canonicalName(svc.externalName ?? '');
    const cname = z.rr(this.asked, 'CNAME', target);
    if (type === 'CNAME' || target === '') return z.ok([cname]);
    if (z.holds(target)) {
      if (this.depth >= MAX_CNAME_CHAIN) return z.ok([cname]);
      const next = z.follow(target, type, this.depth + 1);
      if (next.kind !== 'answer') return z.ok([cname]);
      // The rcode is the last name's (RFC 6604); its SOA goes with a negative end of the chain.
      return { ...next, aa: true, answers: [cname, ...next.answers] };
    }
    const answer = z.ok([cname]);
    return z.forwards ? { ...answer, chase: { name: target, type } } : answer;
  }

  private portSrv(entry: ServiceEntry, port: string, proto: string): ZoneAnswer {
    const ports = entry.svc.ports.filter((p) => p.name !== '' && p.name.toLowerCase() === port && p.protocol.toLowerCase() === proto);
    if (ports.length === 0) return this.nx();
    if (entry.svc.kind === 'Headless' && entry.svc.endpoints.length === 0) return this.nx();
    return wants(this.type, 'SRV') ? this.srv(entry, ports) : this.nodata();
  }

  /**
   * SRV records for `ports`: the service name as target (ClusterIP), or
   * one per ready endpoint carrying the port (headless); priority 0,
   * CoreDNS's weights, each (target, port) once, and the targets'
   * addresses in the additional section.
   */
  private srv(entry: ServiceEntry, ports: DnsPort[]): ZoneAnswer {
    const { z } = this;
    const svc = entry.svc;
    const byKey = new Map<string, SrvTarget>();
    const add = (port: number, target: string, ip: string) => {
      const key = `${target} ${port}`;
      const t = byKey.get(key);
      if (!t) byKey.set(key, { port, target, addresses: [ip] });
      else if (!t.addresses.includes(ip)) t.addresses.push(ip);
    };
    for (const p of ports) {
      if (svc.kind === 'ClusterIP') {
        if (svc.clusterIP) add(p.port, entry.fqdn, svc.clusterIP);
        continue;
      }
      for (const e of svc.endpoints) {
        const ep = e.ports.find((x) => x.name === p.name && x.protocol === p.protocol);
        if (ep) add(ep.port, `${endpointLabel(e)}.${entry.fqdn}`, e.ip);
      }
    }
    const targets = [...byKey.values()];
    if (targets.length === 0) return this.nodata();
    const weight = srvWeight(targets.length);
    const answers: DnsRecord[] = targets.map((t) => ({ name: this.asked, type: 'SRV', ttl: z.ttl, class: 'IN', data: { priority: 0, weight, port: t.port, target: t.target } }));
    const additionals: DnsRecord[] = [];
    const listed = new Set<string>();
    for (const t of targets) {
      for (const ip of t.addresses) {
        const key = `${t.target} ${ip}`;
        if (listed.has(key)) continue;
        listed.add(key);
        additionals.push(...addressRecords(z, t.target, 'ANY', [ip]));
      }
    }
    return z.ok(answers, additionals);
  }
}
