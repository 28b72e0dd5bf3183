/**
 * The answer logic of the lab's DNS servers, pure: a question in, the
 * records, rcode and authority out, or "forward" for names this server is
 * not authoritative for. The cluster zone follows the Kubernetes DNS
 * specification (schema 1.1.0) and CoreDNS's kubernetes plugin where the
 * spec is silent:
 *
 *   <svc>.<ns>.svc.<zone>                  A: ClusterIP, or one per ready endpoint (headless)
 *   <host>.<svc>.<ns>.svc.<zone>           A: one endpoint of a headless service
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV: named ports only
 *   <d>.<c>.<b>.<a>.in-addr.arpa           PTR: ClusterIPs and headless endpoints
 *   <a>-<b>-<c>-<d>.<ns>.pod.<zone>        A: the dashed address (`pods insecure`)
 *   dns-version.<zone>                     TXT: the schema version
 *
 * A name that exists without records of the asked type is NODATA (NOERROR,
 * no answer), one that does not exist NXDOMAIN, both with the zone's SOA in
 * the authority section so resolvers can cache the negative answer.
 */
import type { DnsEndpoint, DnsHost, DnsPort, DnsServerData, DnsService } from './data.js';

/** A resource record as dns-packet encodes it. */
export interface DnsRecord {
  name: string;
  type: 'A' | 'CNAME' | 'SRV' | 'PTR' | 'TXT' | 'SOA' | 'NS';
  ttl: number;
  class: 'IN';
  data: unknown;
}

export interface DnsQuestion {
  name: string;
  type: string;
}

export type Rcode = 'NOERROR' | 'NXDOMAIN';

export interface LocalAnswer {
  kind: 'answer';
  rcode: Rcode;
  answers: DnsRecord[];
  authority: DnsRecord[];
  additionals: DnsRecord[];
  /**
   * An ExternalName whose target lies outside this server's data: the
   * server resolves `name` upstream and appends what it gets after the
   * CNAME, as CoreDNS does.
   */
  chase?: { name: string; type: string };
}

export type Decision = LocalAnswer | { kind: 'forward' };

/** The SOA names of a server that only knows fixed hosts (the internet resolver); its negative answers are for the root. */
const HOSTS_ZONE = 'lab';
const SOA_TIMERS = { refresh: 7200, retry: 1800, expire: 86400 };

const absolute = (name: string) => `${name}.`;

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function parseCidr(text: string): { base: number; mask: number } | undefined {
  const [ip, bits] = text.split('/');
  const base = ipToInt(ip ?? '');
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (base & mask) >>> 0, mask };
}

/** `5.1.244.10.in-addr.arpa` -> `10.244.1.5`; undefined for anything else. */
export function reverseToIp(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return undefined;
  const ip = `${m[4]}.${m[3]}.${m[2]}.${m[1]}`;
  return ipToInt(ip) === undefined ? undefined : ip;
}

/** An endpoint's name in its service: its hostname, or its address with dashes. */
export const endpointLabel = (e: DnsEndpoint): string => (e.hostname ?? e.ip.replace(/\./g, '-')).toLowerCase();

/** The index a server answers from, rebuilt on every data reload. */
export class ZoneIndex {
  readonly ttl: number;
  readonly serial: number;
  readonly zone?: string;
  readonly forwards: boolean;
  private readonly namespaces = new Set<string>();
  private readonly services = new Map<string, DnsService>();
  private readonly hosts = new Map<string, DnsHost>();
  private readonly ptr = new Map<string, string[]>();
  private readonly reverse: { base: number; mask: number }[] = [];
  private readonly schemaVersion: string;

  constructor(readonly data: DnsServerData) {
    this.ttl = data.ttl;
    this.serial = data.serial;
    this.forwards = data.upstream.length > 0;
    for (const h of data.hosts) this.hosts.set(h.name.toLowerCase(), h);
    const cluster = data.cluster;
    this.schemaVersion = cluster?.schemaVersion ?? '';
    if (!cluster) return;
    const zone = cluster.domain.toLowerCase().replace(/\.$/, '');
    this.zone = zone;
    for (const ns of cluster.namespaces) this.namespaces.add(ns.toLowerCase());
    for (const c of cluster.reverseCidrs) {
      const parsed = parseCidr(c);
      if (parsed) this.reverse.push(parsed);
    }
    for (const svc of cluster.services) {
      this.services.set(`${svc.name}.${svc.namespace}`.toLowerCase(), svc);
      const fqdn = this.serviceName(svc);
      if (svc.kind === 'ClusterIP' && svc.clusterIP) this.addPtr(svc.clusterIP, fqdn);
      if (svc.kind === 'Headless') for (const e of svc.endpoints) this.addPtr(e.ip, `${endpointLabel(e)}.${fqdn}`);
    }
  }

  private addPtr(ip: string, name: string): void {
    const list = this.ptr.get(ip) ?? [];
    if (!list.includes(name)) list.push(name);
    this.ptr.set(ip, list);
  }

  serviceName(svc: DnsService): string {
    return `${svc.name}.${svc.namespace}.svc.${this.zone}`.toLowerCase();
  }

  /** The SOA that goes with negative answers (and answers SOA at the apex). */
  soa(zone = this.zone ?? HOSTS_ZONE): DnsRecord {
    return {
      name: zone === '' ? '.' : zone,
      type: 'SOA',
      ttl: this.ttl,
      class: 'IN',
      data: { mname: `ns.dns.${zone || HOSTS_ZONE}`, rname: `hostmaster.${zone || HOSTS_ZONE}`, serial: this.serial, ...SOA_TIMERS, minimum: this.ttl },
    };
  }

  private inReverseCidrs(ip: string): boolean {
    const n = ipToInt(ip);
    return n !== undefined && this.reverse.some((r) => ((n & r.mask) >>> 0) === r.base);
  }

  answer(q: DnsQuestion): Decision {
    const name = q.name.toLowerCase().replace(/\.$/, '');
    const type = q.type.toUpperCase();
    const host = this.hosts.get(name);
    if (host) return this.hostAnswer(q.name, type, host);
    const zone = this.zone;
    if (zone !== undefined && (name === zone || name.endsWith(`.${zone}`))) {
      const rel = name === zone ? [] : name.slice(0, -(zone.length + 1)).split('.');
      return new ClusterAnswer(this, q.name, type).resolve(rel);
    }
    if (type === 'PTR' && zone !== undefined) {
      const ip = reverseToIp(name);
      const targets = ip === undefined ? undefined : this.ptr.get(ip);
      if (targets) return this.ok(targets.map((t) => this.record(q.name, 'PTR', absolute(t))));
      // CoreDNS `fallthrough in-addr.arpa`: addresses it has no record of go on to the next resolver.
      if (ip !== undefined && this.inReverseCidrs(ip) && !this.forwards) return this.negative('NXDOMAIN');
    }
    if (this.forwards) return { kind: 'forward' };
    return this.negative('NXDOMAIN', '');
  }

  private hostAnswer(asked: string, type: string, host: DnsHost): Decision {
    if (type !== 'A' && type !== 'ANY') return this.negative('NOERROR', '');
    return this.ok(host.addresses.map((a) => this.record(asked, 'A', a)));
  }

  record(name: string, type: DnsRecord['type'], data: unknown): DnsRecord {
    return { name, type, ttl: this.ttl, class: 'IN', data };
  }

  ok(answers: DnsRecord[], additionals: DnsRecord[] = []): LocalAnswer {
    return { kind: 'answer', rcode: 'NOERROR', answers, authority: [], additionals };
  }

  negative(rcode: Rcode, zone?: string): LocalAnswer {
    return { kind: 'answer', rcode, answers: [], authority: [this.soa(zone)], additionals: [] };
  }

  hasNamespace(ns: string): boolean {
    return this.namespaces.has(ns);
  }

  service(name: string, ns: string): DnsService | undefined {
    return this.services.get(`${name}.${ns}`);
  }

  version(): string {
    return this.schemaVersion;
  }

  /** Local A records of a name this server holds (hosts or the cluster zone), for following a CNAME. */
  localAddresses(target: string): DnsRecord[] | undefined {
    const name = target.toLowerCase().replace(/\.$/, '');
    const inZone = this.zone !== undefined && (name === this.zone || name.endsWith(`.${this.zone}`));
    if (!this.hosts.has(name) && !inZone) return undefined;
    const d = this.answer({ name, type: 'A' });
    return d.kind === 'answer' ? d.answers : undefined;
  }
}

/** One question inside the cluster zone; `rel` is the name's labels before the zone. */
class ClusterAnswer {
  constructor(
    private readonly z: ZoneIndex,
    private readonly asked: string,
    private readonly type: string,
  ) {}

  private nodata(): LocalAnswer {
    return this.z.negative('NOERROR');
  }

  private nx(): LocalAnswer {
    return this.z.negative('NXDOMAIN');
  }

  resolve(rel: string[]): LocalAnswer {
    const { z, type } = this;
    if (rel.length === 0) {
      if (type === 'SOA') return z.ok([z.soa()]);
      if (type === 'NS') return z.ok([z.record(this.asked, 'NS', `ns.dns.${z.zone}`)]);
      return this.nodata();
    }
    if (rel.length === 1 && rel[0] === 'dns-version') {
      return type === 'TXT' || type === 'ANY' ? z.ok([z.record(this.asked, 'TXT', [z.version()])]) : this.nodata();
    }
    const top = rel[rel.length - 1];
    if (top === 'svc') return this.svc(rel.slice(0, -1));
    if (top === 'pod') return this.pod(rel.slice(0, -1));
    return this.nx();
  }

  private pod(rel: string[]): LocalAnswer {
    const { z } = this;
    if (rel.length === 0) return this.nodata();
    const ns = rel[rel.length - 1]!;
    if (!z.hasNamespace(ns)) return this.nx();
    if (rel.length === 1) return this.nodata();
    if (rel.length > 2) return this.nx();
    const ip = rel[0]!.replace(/-/g, '.');
    if (!/^\d+-\d+-\d+-\d+$/.test(rel[0]!) || ipToInt(ip) === undefined) return this.nx();
    return this.type === 'A' || this.type === 'ANY' ? z.ok([z.record(this.asked, 'A', ip)]) : this.nodata();
  }

  private svc(rel: string[]): LocalAnswer {
    const { z } = this;
    if (rel.length === 0) return this.nodata();
    const ns = rel[rel.length - 1]!;
    if (!z.hasNamespace(ns)) return this.nx();
    if (rel.length === 1) return this.nodata();
    const svc = z.service(rel[rel.length - 2]!, ns);
    if (!svc) return this.nx();
    const below = rel.slice(0, -2);
    if (below.length === 0) return this.service(svc);
    if (svc.kind === 'ExternalName') return this.nx();
    if (below.length === 1) {
      const label = below[0]!;
      if (/^_(tcp|udp|sctp)$/.test(label)) return svc.ports.some((p) => p.name && p.protocol.toLowerCase() === label.slice(1)) ? this.nodata() : this.nx();
      return this.endpoint(svc, label);
    }
    if (below.length === 2 && below[0]!.startsWith('_') && below[1]!.startsWith('_')) return this.srvFor(svc, below[0]!.slice(1), below[1]!.slice(1));
    return this.nx();
  }

  private service(svc: DnsService): LocalAnswer {
    const { z, type } = this;
    if (svc.kind === 'ExternalName') return this.externalName(svc);
    if (svc.kind === 'Headless' && svc.endpoints.length === 0) return this.nx();
    if (type === 'SRV') return this.srv(svc, svc.ports.filter((p) => p.name !== ''));
    if (type !== 'A' && type !== 'ANY') return this.nodata();
    if (svc.kind === 'ClusterIP') return z.ok([z.record(this.asked, 'A', svc.clusterIP)]);
    return z.ok(svc.endpoints.map((e) => z.record(this.asked, 'A', e.ip)));
  }

  private externalName(svc: DnsService): LocalAnswer {
    const { z, type } = this;
    const target = (svc.externalName ?? '').toLowerCase();
    const cname = z.record(this.asked, 'CNAME', target);
    if (type === 'CNAME') return z.ok([cname]);
    const local = z.localAddresses(target);
    if (local) return z.ok([cname, ...(type === 'A' || type === 'ANY' ? local : [])]);
    const answer = z.ok([cname]);
    return z.forwards ? { ...answer, chase: { name: target, type } } : answer;
  }

  private endpoint(svc: DnsService, label: string): LocalAnswer {
    const { z, type } = this;
    const e = svc.kind === 'Headless' ? svc.endpoints.find((x) => endpointLabel(x) === label) : undefined;
    if (!e) return this.nx();
    return type === 'A' || type === 'ANY' ? z.ok([z.record(this.asked, 'A', e.ip)]) : this.nodata();
  }

  private srvFor(svc: DnsService, port: string, proto: string): LocalAnswer {
    const ports = svc.ports.filter((p) => p.name !== '' && p.name.toLowerCase() === port && p.protocol.toLowerCase() === proto);
    if (ports.length === 0) return this.nx();
    if (svc.kind === 'Headless' && svc.endpoints.length === 0) return this.nx();
    return this.type === 'SRV' || this.type === 'ANY' ? this.srv(svc, ports) : this.nodata();
  }

  /**
   * SRV records with CoreDNS's weights: records of one priority share 100
   * (100 / n each), targets' A records in the additional section.
   */
  private srv(svc: DnsService, ports: DnsPort[]): LocalAnswer {
    const { z } = this;
    const fqdn = z.serviceName(svc);
    const targets: { port: number; target: string; ip: string }[] = [];
    for (const p of ports) {
      if (svc.kind === 'ClusterIP') {
        targets.push({ port: p.port, target: fqdn, ip: svc.clusterIP! });
        continue;
      }
      for (const e of svc.endpoints) {
        const ep = e.ports.find((x) => x.name === p.name && x.protocol === p.protocol);
        if (ep) targets.push({ port: ep.port, target: `${endpointLabel(e)}.${fqdn}`, ip: e.ip });
      }
    }
    if (targets.length === 0) return this.nodata();
    const weight = Math.floor(100 / targets.length);
    const answers = targets.map((t) => z.record(this.asked, 'SRV', { priority: 0, weight, port: t.port, target: t.target }));
    const seen = new Set<string>();
    const additionals = targets.filter((t) => !seen.has(t.target) && seen.add(t.target)).map((t) => z.record(t.target, 'A', t.ip));
    return z.ok(answers, additionals);
  }
}
