import t from 'tap';
import { ZoneIndex, type Decision, type DnsRecord, type LocalAnswer } from '../../../src/dns/zone.js';
import { fixture } from '../../fixtures/dns/data.js';

const z = new ZoneIndex(fixture());
const ask = (name: string, type = 'A', index = z): LocalAnswer => {
  const d: Decision = index.answer({ name, type });
  if (d.kind !== 'answer') throw new Error(`${name} ${type} was forwarded`);
  return d;
};
const data = (rs: DnsRecord[]) => rs.map((r) => [r.name, r.type, r.data]);
const SOA = { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 42, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 };

t.test('ClusterIP service: A, NODATA for other types, any case', async (t) => {
  const a = ask('web.default.svc.cluster.local');
  t.equal(a.rcode, 'NOERROR');
  t.same(data(a.answers), [['web.default.svc.cluster.local', 'A', '10.96.0.20']]);
  t.equal(a.answers[0]!.ttl, 30);
  t.same(data(ask('WEB.Default.SVC.cluster.LOCAL.').answers), [['WEB.Default.SVC.cluster.LOCAL.', 'A', '10.96.0.20']], 'answered under the name as asked');
  const aaaa = ask('web.default.svc.cluster.local', 'AAAA');
  t.equal(aaaa.rcode, 'NOERROR');
  t.same(aaaa.answers, []);
  t.same(data(aaaa.authority), [['cluster.local', 'SOA', SOA]], 'NODATA carries the SOA');
});

t.test('SRV: named ports only, ClusterIP and headless (weights share 100), targets in additionals', async (t) => {
  const http = ask('_http._tcp.web.default.svc.cluster.local', 'SRV');
  t.same(data(http.answers), [['_http._tcp.web.default.svc.cluster.local', 'SRV', { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]]);
  t.same(data(http.additionals), [['web.default.svc.cluster.local', 'A', '10.96.0.20']]);
  t.same(
    data(ask('web.default.svc.cluster.local', 'SRV').answers).map((r) => r[2]),
    [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }],
    'SRV on the service name: the named port, not 81',
  );
  t.equal(ask('_81._tcp.web.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN', 'an unnamed port has no SRV');
  t.equal(ask('_http._udp.web.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN', 'the protocol must match');
  const dns = ask('_dns._udp.kube-dns.kube-system.svc.cluster.local', 'SRV');
  t.same(data(dns.answers).map((r) => r[2]), [{ priority: 0, weight: 100, port: 53, target: 'kube-dns.kube-system.svc.cluster.local' }]);
  const pg = ask('_pg._tcp.db.default.svc.cluster.local', 'SRV');
  t.same(
    data(pg.answers).map((r) => r[2]),
    [
      { priority: 0, weight: 50, port: 5432, target: 'db-0.db.default.svc.cluster.local' },
      { priority: 0, weight: 50, port: 5432, target: 'db-1.db.default.svc.cluster.local' },
    ],
  );
  t.same(data(pg.additionals), [
    ['db-0.db.default.svc.cluster.local', 'A', '10.244.1.5'],
    ['db-1.db.default.svc.cluster.local', 'A', '10.244.2.5'],
  ]);
  t.equal(ask('_tcp.db.default.svc.cluster.local', 'SRV').rcode, 'NOERROR', '_tcp under a service with a TCP named port exists');
  t.equal(ask('_udp.db.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
});

t.test('headless: one A per ready endpoint, endpoint names, dashed IPs, NXDOMAIN without endpoints', async (t) => {
  t.same(data(ask('db.default.svc.cluster.local').answers).map((r) => r[2]), ['10.244.1.5', '10.244.2.5']);
  t.same(data(ask('db-1.db.default.svc.cluster.local').answers), [['db-1.db.default.svc.cluster.local', 'A', '10.244.2.5']]);
  t.same(data(ask('10-244-2-7.nohost.default.svc.cluster.local').answers).map((r) => r[2]), ['10.244.2.7'], 'no hostname: named by the dashed IP');
  t.equal(ask('db-9.db.default.svc.cluster.local').rcode, 'NXDOMAIN', 'unknown endpoint name');
  t.equal(ask('db-0.db.default.svc.cluster.local', 'TXT').rcode, 'NOERROR', 'endpoint name exists: NODATA for TXT');
  const empty = ask('empty.default.svc.cluster.local');
  t.equal(empty.rcode, 'NXDOMAIN', 'the spec: no ready endpoints -> NXDOMAIN');
  t.same(data(empty.authority), [['cluster.local', 'SOA', SOA]]);
  t.equal(ask('10-244-1-9.web.default.svc.cluster.local').rcode, 'NXDOMAIN', 'a ClusterIP service publishes no endpoint names');
});

t.test('PTR: ClusterIPs and headless endpoints; unknown addresses in the cluster ranges NXDOMAIN', async (t) => {
  t.same(data(ask('20.0.96.10.in-addr.arpa', 'PTR').answers), [['20.0.96.10.in-addr.arpa', 'PTR', 'web.default.svc.cluster.local.']]);
  t.same(data(ask('5.1.244.10.in-addr.arpa.', 'PTR').answers).map((r) => r[2]), ['db-0.db.default.svc.cluster.local.']);
  t.same(data(ask('7.2.244.10.in-addr.arpa', 'PTR').answers).map((r) => r[2]), ['10-244-2-7.nohost.default.svc.cluster.local.']);
  t.equal(ask('99.9.244.10.in-addr.arpa', 'PTR').rcode, 'NXDOMAIN');
  const forwarding = new ZoneIndex(fixture({ upstream: ['203.0.113.3'] }));
  t.same(forwarding.answer({ name: '99.9.244.10.in-addr.arpa', type: 'PTR' }), { kind: 'forward' }, 'with an upstream, unknown addresses fall through');
  t.same(forwarding.answer({ name: '8.8.8.8.in-addr.arpa', type: 'PTR' }), { kind: 'forward' });
});

t.test('ExternalName: CNAME, followed inside the data, chased upstream outside it', async (t) => {
  const legacy = ask('legacy.other.svc.cluster.local');
  t.same(data(legacy.answers), [['legacy.other.svc.cluster.local', 'CNAME', 'legacy.example.net']]);
  t.equal(legacy.chase, undefined, 'no upstream: the CNAME alone');
  t.same(data(ask('legacy.other.svc.cluster.local', 'CNAME').answers).map((r) => r[1]), ['CNAME']);
  const alias = ask('alias.other.svc.cluster.local');
  t.same(data(alias.answers), [
    ['alias.other.svc.cluster.local', 'CNAME', 'web.default.svc.cluster.local'],
    ['web.default.svc.cluster.local', 'A', '10.96.0.20'],
  ]);
  const withHosts = new ZoneIndex(fixture({ hosts: [{ name: 'legacy.example.net', addresses: ['203.0.113.50'] }] }));
  t.same(data(ask('legacy.other.svc.cluster.local', 'A', withHosts).answers).map((r) => r[2]), ['legacy.example.net', '203.0.113.50']);
  const forwarding = new ZoneIndex(fixture({ upstream: ['203.0.113.3'] }));
  t.same(ask('legacy.other.svc.cluster.local', 'A', forwarding).chase, { name: 'legacy.example.net', type: 'A' });
  t.equal(ask('x.legacy.other.svc.cluster.local').rcode, 'NXDOMAIN');
});

t.test('dns-version, pods, interior names, the apex', async (t) => {
  t.same(data(ask('dns-version.cluster.local', 'TXT').answers), [['dns-version.cluster.local', 'TXT', ['1.1.0']]]);
  t.same(data(ask('10-244-1-5.default.pod.cluster.local').answers).map((r) => r[2]), ['10.244.1.5']);
  t.equal(ask('10-244-1-5.nons.pod.cluster.local').rcode, 'NXDOMAIN', 'unknown namespace');
  t.equal(ask('blah.default.pod.cluster.local').rcode, 'NXDOMAIN', 'not a dashed IP');
  t.equal(ask('10-244-1-300.default.pod.cluster.local').rcode, 'NXDOMAIN');
  for (const interior of ['cluster.local', 'svc.cluster.local', 'default.svc.cluster.local', 'other.svc.cluster.local', 'pod.cluster.local', 'default.pod.cluster.local']) {
    const a = ask(interior);
    t.same([a.rcode, a.answers.length, a.authority.length], ['NOERROR', 0, 1], `${interior} is NODATA`);
  }
  for (const missing of ['nosuch.default.svc.cluster.local', 'web.nons.svc.cluster.local', 'nons.svc.cluster.local', 'x.cluster.local', 'a.b.c.db.default.svc.cluster.local']) {
    const a = ask(missing);
    t.same([a.rcode, data(a.authority)], ['NXDOMAIN', [['cluster.local', 'SOA', SOA]]], `${missing} is NXDOMAIN`);
  }
  t.same(data(ask('cluster.local', 'SOA').answers), [['cluster.local', 'SOA', SOA]]);
});

t.test('outside the zone: forwarded, or NXDOMAIN at once without an upstream; hosts answer exactly', async (t) => {
  t.same(new ZoneIndex(fixture({ upstream: ['203.0.113.3:53'] })).answer({ name: 'example.org', type: 'A' }), { kind: 'forward' });
  const nx = ask('example.org');
  t.equal(nx.rcode, 'NXDOMAIN');
  t.equal(nx.authority[0]!.name, '.', 'an SOA for the root: this server stands for the whole namespace');
  const resolver = new ZoneIndex({ ttl: 30, serial: 1, hosts: [{ name: 'legacy.example.net', addresses: ['203.0.113.50'] }], upstream: [] });
  t.same(data(ask('LEGACY.example.net', 'A', resolver).answers), [['LEGACY.example.net', 'A', '203.0.113.50']]);
  t.same([ask('legacy.example.net', 'AAAA', resolver).rcode, ask('legacy.example.net', 'AAAA', resolver).answers], ['NOERROR', []]);
  t.equal(ask('no-such-host.invalid', 'A', resolver).rcode, 'NXDOMAIN');
  t.equal(ask('web.default.svc.cluster.local', 'A', resolver).rcode, 'NXDOMAIN', 'the resolver knows no cluster zone');
});
