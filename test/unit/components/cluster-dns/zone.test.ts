import t from 'tap';
import { answer, buildIndex, canonicalName, endpointLabel, reverseToIp, srvWeight, type DnsRecord, type ZoneAnswer, type ZoneIndex } from '../../../../dist/components/cluster-dns/zone.js';
import { fixture } from '../../../fixtures/dns/data.js';

const z = buildIndex(fixture());
const forwarding = buildIndex(fixture({ upstream: ['203.0.113.3'] }));

function ask(name: string, type = 'A', index: ZoneIndex = z, klass?: string): ZoneAnswer {
  const d = answer(index, { name, type, ...(klass ? { class: klass } : {}) });
  if (d.kind !== 'answer') throw new Error(`${name} ${type} was forwarded`);
  return d;
}
const rows = (rs: DnsRecord[]) => rs.map((r) => [r.name, r.type, (r as { data?: unknown }).data]);
const datas = (rs: DnsRecord[]) => rs.map((r) => (r as { data?: unknown }).data);
const SOA = { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 42, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 };
const ZONE_SOA = ['cluster.local', 'SOA', SOA];

t.test('ClusterIP service: A is the ClusterIP; AAAA and TXT are NODATA with the SOA', async (t) => {
  const a = ask('web.default.svc.cluster.local');
  t.strictSame([a.rcode, a.aa], ['NOERROR', true]);
  t.strictSame(a.answers, [{ name: 'web.default.svc.cluster.local', type: 'A', ttl: 30, class: 'IN', data: '10.96.0.20' }]);
  t.strictSame([a.authority, a.additionals], [[], []]);
  for (const type of ['AAAA', 'TXT', 'MX']) {
    const n = ask('web.default.svc.cluster.local', type);
    t.strictSame([n.rcode, n.aa, n.answers, rows(n.authority)], ['NOERROR', true, [], [ZONE_SOA]], `${type}: NODATA`);
    t.equal((n.authority[0] as { ttl?: number }).ttl, 30, 'the SOA has the data TTL');
  }
  t.strictSame(datas(ask('kube-dns.kube-system.svc.cluster.local').answers), ['10.96.0.10']);
});

t.test('names are case-insensitive and answered as asked', async (t) => {
  t.strictSame(rows(ask('WEB.Default.SVC.Cluster.LOCAL.').answers), [['WEB.Default.SVC.Cluster.LOCAL.', 'A', '10.96.0.20']]);
  t.strictSame(datas(ask('DB-1.db.DEFAULT.svc.cluster.local').answers), ['10.244.2.5']);
  t.strictSame(datas(ask('_PG._TCP.db.default.svc.cluster.local', 'SRV').answers).length, 2);
  t.strictSame(datas(ask('20.0.96.10.IN-ADDR.ARPA', 'PTR').answers), ['web.default.svc.cluster.local']);
  t.equal(canonicalName('Foo.Example.'), 'foo.example');
  t.equal(canonicalName('.'), '.');
});

t.test('SRV of a ClusterIP service: named ports only, target the service, its A in additionals', async (t) => {
  const http = ask('_http._tcp.web.default.svc.cluster.local', 'SRV');
  t.strictSame([http.rcode, http.aa], ['NOERROR', true]);
  t.strictSame(rows(http.answers), [['_http._tcp.web.default.svc.cluster.local', 'SRV', { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]]);
  t.strictSame(rows(http.additionals), [['web.default.svc.cluster.local', 'A', '10.96.0.20']]);
  t.strictSame(datas(ask('_dns._udp.kube-dns.kube-system.svc.cluster.local', 'SRV').answers), [{ priority: 0, weight: 100, port: 53, target: 'kube-dns.kube-system.svc.cluster.local' }]);
  t.strictSame(datas(ask('_dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local', 'SRV').answers), [{ priority: 0, weight: 100, port: 53, target: 'kube-dns.kube-system.svc.cluster.local' }]);
  t.equal(ask('_dns._tcp.kube-dns.kube-system.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN', 'the protocol must match the port');
  t.strictSame([ask('_http._tcp.web.default.svc.cluster.local', 'A').rcode, ask('_http._tcp.web.default.svc.cluster.local', 'A').answers], ['NOERROR', []], 'the SRV name exists: NODATA for A');
});

t.test('an unnamed port has no SRV record', async (t) => {
  const unnamed = ask('_81._tcp.web.default.svc.cluster.local', 'SRV');
  t.strictSame([unnamed.rcode, rows(unnamed.authority)], ['NXDOMAIN', [ZONE_SOA]]);
  t.equal(ask('__tcp.web.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
  t.strictSame(datas(ask('web.default.svc.cluster.local', 'SRV').answers), [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }], 'SRV on the service name: the named port, not 81');
  const unnamedOnly = fixture();
  unnamedOnly.cluster!.services.find((s) => s.name === 'web')!.ports = [{ name: '', protocol: 'TCP', port: 81 }];
  const srv = ask('web.default.svc.cluster.local', 'SRV', buildIndex(unnamedOnly));
  t.strictSame([srv.rcode, srv.answers, srv.authority.length], ['NOERROR', [], 1], 'only unnamed ports: SRV on the service name is NODATA');
});

t.test('SRV on the service name: one record per (target, port), CoreDNS weights', async (t) => {
  t.strictSame(datas(ask('kube-dns.kube-system.svc.cluster.local', 'SRV').answers), [{ priority: 0, weight: 100, port: 53, target: 'kube-dns.kube-system.svc.cluster.local' }], 'dns and dns-tcp are both 53: one record');
  const data = fixture();
  data.cluster!.services.find((s) => s.name === 'web')!.ports.push({ name: 'https', protocol: 'TCP', port: 443 });
  t.strictSame(
    datas(ask('web.default.svc.cluster.local', 'SRV', buildIndex(data)).answers),
    [
      { priority: 0, weight: 50, port: 80, target: 'web.default.svc.cluster.local' },
      { priority: 0, weight: 50, port: 443, target: 'web.default.svc.cluster.local' },
    ],
  );
  t.strictSame([1, 2, 3, 4, 6, 7, 100, 101, 500].map(srvWeight), [100, 50, 33, 25, 16, 14, 1, 1, 1], 'floor(100/n), at least 1');
});

t.test('headless SRV: one record per ready endpoint, endpoint targets, their A records in additionals', async (t) => {
  const pg = ask('_pg._tcp.db.default.svc.cluster.local', 'SRV');
  t.strictSame(rows(pg.answers), [
    ['_pg._tcp.db.default.svc.cluster.local', 'SRV', { priority: 0, weight: 50, port: 5432, target: 'db-0.db.default.svc.cluster.local' }],
    ['_pg._tcp.db.default.svc.cluster.local', 'SRV', { priority: 0, weight: 50, port: 5432, target: 'db-1.db.default.svc.cluster.local' }],
  ]);
  t.strictSame(rows(pg.additionals), [
    ['db-0.db.default.svc.cluster.local', 'A', '10.244.1.5'],
    ['db-1.db.default.svc.cluster.local', 'A', '10.244.2.5'],
  ]);
  const nohost = ask('_pg._tcp.nohost.default.svc.cluster.local', 'SRV');
  t.strictSame(datas(nohost.answers), [{ priority: 0, weight: 100, port: 5432, target: '10-244-2-7.nohost.default.svc.cluster.local' }]);
  t.strictSame(rows(nohost.additionals), [['10-244-2-7.nohost.default.svc.cluster.local', 'A', '10.244.2.7']]);
  t.strictSame(datas(ask('db.default.svc.cluster.local', 'SRV').answers).map((d) => (d as { weight: number }).weight), [50, 50], 'SRV on the headless service name');
  t.equal(ask('_pg._tcp.empty.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN', 'no ready endpoints');
});

t.test('headless A: exactly the ready endpoints; endpoint names by hostname or dashed IP', async (t) => {
  const db = ask('db.default.svc.cluster.local');
  t.strictSame([db.rcode, db.aa, rows(db.answers)], [
    'NOERROR',
    true,
    [
      ['db.default.svc.cluster.local', 'A', '10.244.1.5'],
      ['db.default.svc.cluster.local', 'A', '10.244.2.5'],
    ],
  ]);
  t.strictSame(rows(ask('db-0.db.default.svc.cluster.local').answers), [['db-0.db.default.svc.cluster.local', 'A', '10.244.1.5']]);
  t.strictSame(rows(ask('10-244-2-7.nohost.default.svc.cluster.local').answers), [['10-244-2-7.nohost.default.svc.cluster.local', 'A', '10.244.2.7']]);
  t.equal(ask('10-244-1-5.db.default.svc.cluster.local').rcode, 'NXDOMAIN', 'an endpoint with a hostname is not also named by its IP');
  t.equal(ask('db-9.db.default.svc.cluster.local').rcode, 'NXDOMAIN', 'unknown endpoint');
  const txt = ask('db-0.db.default.svc.cluster.local', 'TXT');
  t.strictSame([txt.rcode, txt.answers.length, txt.authority.length], ['NOERROR', 0, 1], 'endpoint name exists: NODATA for TXT');
  t.strictSame(datas(ask('10-244-1-9.web.default.svc.cluster.local').answers), ['10.244.1.9'], 'endpoints of a ClusterIP service have names too (CoreDNS)');
  t.equal(endpointLabel({ ip: '10.244.2.7', ports: [] }), '10-244-2-7');
  t.equal(endpointLabel({ ip: '10.244.2.7', hostname: 'Db-0', ports: [] }), 'db-0');
});

t.test('headless service without ready endpoints: NXDOMAIN (spec 1.1.0) with the SOA', async (t) => {
  for (const type of ['A', 'AAAA', 'SRV']) {
    const empty = ask('empty.default.svc.cluster.local', type);
    t.strictSame([empty.rcode, empty.aa, empty.answers, rows(empty.authority)], ['NXDOMAIN', true, [], [ZONE_SOA]], type);
  }
});

t.test('PTR: ClusterIPs and headless endpoints; the reverse zone without records', async (t) => {
  const web = ask('20.0.96.10.in-addr.arpa', 'PTR');
  t.strictSame([web.rcode, web.aa, rows(web.answers)], ['NOERROR', true, [['20.0.96.10.in-addr.arpa', 'PTR', 'web.default.svc.cluster.local']]]);
  t.strictSame(datas(ask('10.0.96.10.in-addr.arpa.', 'PTR').answers), ['kube-dns.kube-system.svc.cluster.local']);
  t.strictSame(datas(ask('5.1.244.10.in-addr.arpa', 'PTR').answers), ['db-0.db.default.svc.cluster.local']);
  t.strictSame(datas(ask('5.2.244.10.in-addr.arpa', 'PTR').answers), ['db-1.db.default.svc.cluster.local']);
  t.strictSame(datas(ask('7.2.244.10.in-addr.arpa', 'PTR').answers), ['10-244-2-7.nohost.default.svc.cluster.local']);
  const a = ask('20.0.96.10.in-addr.arpa', 'A');
  t.strictSame([a.rcode, a.answers, a.authority[0]!.name], ['NOERROR', [], 'in-addr.arpa'], 'a PTR name asked for A: NODATA');
  const unknown = ask('99.9.244.10.in-addr.arpa', 'PTR');
  t.strictSame([unknown.rcode, unknown.aa, unknown.authority[0]!.name, (unknown.authority[0] as { data: { serial: number } }).data.serial], ['NXDOMAIN', true, 'in-addr.arpa', 42], 'in the pod CIDR, no record, no upstream');
  t.equal(ask('1.1.168.192.in-addr.arpa', 'PTR').rcode, 'NXDOMAIN', 'outside the cluster ranges, no upstream');
  t.strictSame(answer(forwarding, { name: '99.9.244.10.in-addr.arpa', type: 'PTR' }), { kind: 'forward' }, 'with an upstream, unknown addresses fall through');
  t.strictSame(answer(forwarding, { name: '8.8.8.8.in-addr.arpa', type: 'PTR' }), { kind: 'forward' });
  t.strictSame(datas(ask('20.0.96.10.in-addr.arpa', 'PTR', forwarding).answers), ['web.default.svc.cluster.local'], 'known addresses are answered even with an upstream');
  t.equal(reverseToIp('5.1.244.10.in-addr.arpa'), '10.244.1.5');
  t.equal(reverseToIp('300.1.244.10.in-addr.arpa'), undefined);
});

t.test('ExternalName: a CNAME for every type, followed inside the data, chased upstream outside it', async (t) => {
  const legacy = ask('legacy.other.svc.cluster.local');
  t.strictSame([legacy.rcode, legacy.aa, rows(legacy.answers)], ['NOERROR', true, [['legacy.other.svc.cluster.local', 'CNAME', 'legacy.example.net']]]);
  t.equal(legacy.chase, undefined, 'no upstream: the CNAME alone');
  for (const type of ['AAAA', 'TXT', 'SRV', 'CNAME']) t.strictSame(rows(ask('legacy.other.svc.cluster.local', type).answers), [['legacy.other.svc.cluster.local', 'CNAME', 'legacy.example.net']], type);
  t.strictSame(ask('legacy.other.svc.cluster.local', 'A', forwarding).chase, { name: 'legacy.example.net', type: 'A' }, 'with an upstream: the server resolves the target');
  t.equal(ask('legacy.other.svc.cluster.local', 'CNAME', forwarding).chase, undefined, 'not for a CNAME query');
  t.strictSame(rows(ask('alias.other.svc.cluster.local').answers), [
    ['alias.other.svc.cluster.local', 'CNAME', 'web.default.svc.cluster.local'],
    ['web.default.svc.cluster.local', 'A', '10.96.0.20'],
  ], 'a target in the cluster zone: its A follows');
  t.strictSame(rows(ask('files.other.svc.cluster.local', 'A', forwarding).answers), [
    ['files.other.svc.cluster.local', 'CNAME', 'files.example.org'],
    ['files.example.org', 'A', '203.0.113.60'],
  ], 'a target in hosts: its A follows, nothing to chase');
  t.equal(ask('files.other.svc.cluster.local', 'A', forwarding).chase, undefined);
  const aaaa = ask('alias.other.svc.cluster.local', 'AAAA');
  t.strictSame([aaaa.rcode, datas(aaaa.answers)], ['NOERROR', ['web.default.svc.cluster.local']], 'the target has no AAAA: the CNAME alone');
  t.equal(ask('x.legacy.other.svc.cluster.local').rcode, 'NXDOMAIN', 'nothing below an ExternalName');
  const loop = fixture();
  loop.cluster!.services.push(
    { namespace: 'other', name: 'ping', kind: 'ExternalName', externalName: 'pong.other.svc.cluster.local', ports: [], endpoints: [] },
    { namespace: 'other', name: 'pong', kind: 'ExternalName', externalName: 'ping.other.svc.cluster.local', ports: [], endpoints: [] },
  );
  const looped = ask('ping.other.svc.cluster.local', 'A', buildIndex(loop));
  t.ok(looped.answers.length > 1 && looped.answers.length <= 10 && looped.answers.every((r) => r.type === 'CNAME'), `a CNAME loop ends (${looped.answers.length} CNAMEs)`);
});

t.test('dns-version, pods, the apex and ns.dns', async (t) => {
  const v = ask('dns-version.cluster.local', 'TXT');
  t.strictSame([v.rcode, v.aa, rows(v.answers)], ['NOERROR', true, [['dns-version.cluster.local', 'TXT', ['1.1.0']]]]);
  t.strictSame([ask('dns-version.cluster.local').rcode, ask('dns-version.cluster.local').answers], ['NOERROR', []]);
  const pod = ask('10-244-1-5.default.pod.cluster.local');
  t.strictSame([pod.rcode, pod.aa, rows(pod.answers)], ['NOERROR', true, [['10-244-1-5.default.pod.cluster.local', 'A', '10.244.1.5']]]);
  t.strictSame(datas(ask('192-168-0-1.kube-system.pod.cluster.local').answers), ['192.168.0.1'], 'pods insecure: any dashed IPv4');
  t.strictSame([ask('10-244-1-5.default.pod.cluster.local', 'AAAA').rcode, ask('10-244-1-5.default.pod.cluster.local', 'AAAA').answers], ['NOERROR', []]);
  t.equal(ask('10-244-1-5.nons.pod.cluster.local').rcode, 'NXDOMAIN', 'unknown namespace');
  t.equal(ask('blah.default.pod.cluster.local').rcode, 'NXDOMAIN', 'not a dashed IP');
  t.equal(ask('10-244-1-300.default.pod.cluster.local').rcode, 'NXDOMAIN');
  t.equal(ask('x.10-244-1-5.default.pod.cluster.local').rcode, 'NXDOMAIN');
  const soa = ask('cluster.local', 'SOA');
  t.strictSame([soa.rcode, soa.aa, rows(soa.answers)], ['NOERROR', true, [ZONE_SOA]]);
  t.strictSame(rows(ask('Cluster.Local', 'NS').answers), [['Cluster.Local', 'NS', 'ns.dns.cluster.local']]);
  t.strictSame(datas(ask('ns.dns.cluster.local').answers), ['10.96.0.10'], 'the name server resolves to the kube-dns ClusterIP');
});

t.test('interior names are NODATA, missing ones NXDOMAIN, both with the SOA', async (t) => {
  for (const name of ['cluster.local', 'svc.cluster.local', 'default.svc.cluster.local', 'other.svc.cluster.local', 'kube-system.svc.cluster.local', 'pod.cluster.local', 'default.pod.cluster.local', 'dns.cluster.local', '_tcp.db.default.svc.cluster.local', '_udp.kube-dns.kube-system.svc.cluster.local']) {
    const a = ask(name);
    t.strictSame([a.rcode, a.aa, a.answers, rows(a.authority)], ['NOERROR', true, [], [ZONE_SOA]], `${name}: NODATA`);
  }
  for (const name of ['nosuch.default.svc.cluster.local', 'web.nons.svc.cluster.local', 'nons.svc.cluster.local', 'x.cluster.local', 'a.b.db.default.svc.cluster.local', '_udp.db.default.svc.cluster.local', '_tcp.legacy.other.svc.cluster.local', 'x.pod.x.cluster.local']) {
    const a = ask(name);
    t.strictSame([a.rcode, a.aa, a.answers, rows(a.authority)], ['NXDOMAIN', true, [], [ZONE_SOA]], `${name}: NXDOMAIN`);
  }
  const soa = ask('nosuch.default.svc.cluster.local').authority[0] as { ttl: number; data: { serial: number; minimum: number } };
  t.strictSame([soa.ttl, soa.data.serial, soa.data.minimum], [30, 42, 30], 'negative caching for the data TTL');
  const later = ask('nosuch.default.svc.cluster.local', 'A', buildIndex(fixture({ serial: 43, ttl: 5 }))).authority[0] as { data: { serial: number; minimum: number } };
  t.strictSame([later.data.serial, later.data.minimum], [43, 5]);
});

t.test('hosts: exact names, A only; outside names NXDOMAIN without an upstream, forwarded with one', async (t) => {
  const files = ask('Files.Example.org');
  t.strictSame([files.rcode, files.aa, rows(files.answers)], ['NOERROR', true, [['Files.Example.org', 'A', '203.0.113.60']]]);
  const aaaa = ask('files.example.org', 'AAAA');
  t.strictSame([aaaa.rcode, aaaa.answers, aaaa.authority[0]!.name], ['NOERROR', [], '.']);
  t.strictSame(datas(ask('files.example.org', 'A', forwarding).answers), ['203.0.113.60'], 'hosts are answered, not forwarded');
  const nx = ask('example.com');
  t.strictSame([nx.rcode, nx.aa, rows(nx.authority)], [
    'NXDOMAIN',
    true,
    [['.', 'SOA', { mname: 'ns.dns.lab', rname: 'hostmaster.lab', serial: 42, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 }]],
  ]);
  t.strictSame(answer(forwarding, { name: 'example.com', type: 'A' }), { kind: 'forward' });
  t.strictSame(answer(forwarding, { name: 'sub.files.example.org', type: 'A' }), { kind: 'forward' });

  const resolver = buildIndex({ ttl: 30, serial: 7, hosts: [{ name: 'legacy.example.net', addresses: ['203.0.113.50'] }], upstream: [] });
  t.strictSame(rows(ask('LEGACY.example.net', 'A', resolver).answers), [['LEGACY.example.net', 'A', '203.0.113.50']]);
  t.strictSame(datas(ask('legacy.example.net', 'ANY', resolver).answers), ['203.0.113.50']);
  t.equal(ask('no-such-host.invalid', 'A', resolver).rcode, 'NXDOMAIN');
  t.equal(ask('web.default.svc.cluster.local', 'A', resolver).rcode, 'NXDOMAIN', 'the resolver has no cluster zone');
  t.equal(ask('5.1.244.10.in-addr.arpa', 'PTR', resolver).rcode, 'NXDOMAIN');
  const parent = ask('example.net', 'A', resolver);
  t.strictSame([parent.rcode, parent.answers], ['NOERROR', []], 'a name above a host exists: NODATA');
  t.strictSame(resolver.recordCount, 1);
});

t.test('other classes are refused; every record carries the data TTL', async (t) => {
  const ch = ask('version.bind', 'TXT', z, 'CH');
  t.strictSame([ch.rcode, ch.aa, ch.answers], ['REFUSED', false, []]);
  t.equal(ask('web.default.svc.cluster.local', 'A', z, 'ANY').rcode, 'NOERROR');
  const index = buildIndex(fixture({ ttl: 7 }));
  const all = [
    ask('web.default.svc.cluster.local', 'A', index),
    ask('_pg._tcp.db.default.svc.cluster.local', 'SRV', index),
    ask('alias.other.svc.cluster.local', 'A', index),
    ask('5.1.244.10.in-addr.arpa', 'PTR', index),
    ask('dns-version.cluster.local', 'TXT', index),
    ask('nosuch.cluster.local', 'A', index),
  ].flatMap((a) => [...a.answers, ...a.authority, ...a.additionals]);
  t.ok(all.length >= 10);
  t.strictSame([...new Set(all.map((r) => (r as { ttl?: number }).ttl))], [7]);
});
