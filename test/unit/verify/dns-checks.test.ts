import t from 'tap';
import { planLab } from '../../../dist/model/plan.js';
import type { Probe } from '../../../dist/verify/checks.js';
import { parseDig, splitBatch } from '../../../dist/verify/dig.js';
import { dnsChecks } from '../../../dist/verify/dns-checks.js';
import { labSpec, pod, service } from '../../helpers/spec.js';


const plan = planLab(
  labSpec({
    namespaces: ['default', 'shop'],
    pods: [pod('default', 'web'), pod('default', 'web2', { labels: { app: 'web' } }), pod('shop', 'api'), pod('shop', 'quiet', { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: [], options: [] } })],
    services: [service('default', 'web'), service('shop', 'api', { clusterIP: 'None' }), service('shop', 'old', { type: 'ExternalName', externalName: 'legacy.example.net', selector: undefined, ports: [] })],
    external: { cidr: '203.0.113.0/24', servers: [{ name: 'legacy.example.net', address: '203.0.113.50', ports: [80] }] },
  }),
);
type Dns = Extract<Probe, { kind: 'dns' }>;
const dnsProbes = (checks: ReturnType<typeof dnsChecks>) => checks.flatMap((c) => c.probes).filter((p): p is Dns => p.kind === 'dns');

t.test('every ClusterIP service from one pod of every namespace: full name, <svc>.<ns>, and the short name at home', async (t) => {
  const checks = dnsChecks(plan, () => true);
  t.ok(checks.every((c) => c.path === 'P10'));
  const web = checks.filter((c) => c.name.startsWith('P10 service default/web '));
  const described = (c: (typeof web)[number]) => c.probes.map((p) => `${(p as Dns).from.label} ${(p as Dns).name}${(p as Dns).search ? ' +search' : ''}`);
  t.same(described(web[0]!), ['pod default/web web.default.svc.cluster.local', 'pod default/web web.default +search', 'pod default/web web +search']);
  t.same(described(web[1]!), ['pod shop/api web.default.svc.cluster.local', 'pod shop/api web.default +search']);
  t.equal(web.length, 2, 'the cluster DNS pods use dnsPolicy Default, pods with dnsPolicy None are skipped: default and shop query');
  const ip = plan.services.find((s) => s.name === 'web')!.clusterIP!;
  for (const p of web.flatMap((c) => c.probes) as Dns[]) t.same(p.expect, { rcode: 'NOERROR', answers: [ip] });
});

t.test('headless: exactly the ready endpoints, NXDOMAIN when none; ExternalName: its CNAME', async (t) => {
  const api = plan.pods.find((p) => p.name === 'api')!.ip;
  const ready = dnsProbes(dnsChecks(plan, () => true)).find((p) => p.name === 'api.shop.svc.cluster.local')!;
  t.same(ready.expect, { rcode: 'NOERROR', answers: [api] });
  const none = dnsProbes(dnsChecks(plan, () => false)).find((p) => p.name === 'api.shop.svc.cluster.local')!;
  t.same(none.expect, { rcode: 'NXDOMAIN' });
  const ext = dnsProbes(dnsChecks(plan, () => true)).find((p) => p.name === 'old.shop.svc.cluster.local')!;
  t.same([ext.type, ext.expect], ['CNAME', { rcode: 'NOERROR', answers: ['legacy.example.net.'] }]);
});

t.test('PTR and SRV, TCP, the schema version, and names outside the cluster', async (t) => {
  const probes = dnsProbes(dnsChecks(plan, () => true));
  const ip = plan.services.find((s) => s.name === 'web')!.clusterIP!;
  const ptr = probes.find((p) => p.type === 'PTR' && p.expect.answers?.[0] === 'web.default.svc.cluster.local.')!;
  t.equal(ptr.name, `${ip.split('.').reverse().join('.')}.in-addr.arpa`);
  t.ok(probes.some((p) => p.type === 'SRV' && p.name === '_http._tcp.web.default.svc.cluster.local'));
  t.ok(probes.some((p) => p.tcp && p.name === 'kube-dns.kube-system.svc.cluster.local' && p.expect.answers?.[0] === '10.96.0.10'));
  t.ok(probes.some((p) => p.type === 'TXT' && p.expect.answers?.[0] === '"1.1.0"'));
  t.ok(probes.some((p) => p.name === 'legacy.example.net' && p.expect.answers?.[0] === '203.0.113.50'));
  t.ok(probes.some((p) => p.name === 'no-such-host.invalid' && p.expect.rcode === 'NXDOMAIN'));
});

t.test('resolv.conf is checked in every ClusterFirst pod', async (t) => {
  const files = dnsChecks(plan, () => true).flatMap((c) => c.probes).filter((p) => p.kind === 'file');
  t.same(files.map((p) => (p as { label: string }).label).sort(), ['pod default/web', 'pod default/web2', 'pod shop/api']);
});

t.test("dig's output: status, flags and the answer section", async (t) => {
  const text = `; <<>> DiG 9.18 <<>> web.default.svc.cluster.local SRV
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; QUESTION SECTION:
;web.default.svc.cluster.local.	IN	SRV

;; ANSWER SECTION:
web.default.svc.cluster.local. 30 IN	SRV	0 100 80 web.default.svc.cluster.local.
web.default.svc.cluster.local. 30 IN	CNAME	other.example.

;; Query time: 1 msec
`;
  const r = parseDig(text);
  t.equal(r.status, 'NOERROR');
  t.equal(r.flags, 'qr aa rd');
  t.same(r.answers, [
    { name: 'web.default.svc.cluster.local.', ttl: 30, type: 'SRV', data: '0 100 80 web.default.svc.cluster.local.' },
    { name: 'web.default.svc.cluster.local.', ttl: 30, type: 'CNAME', data: 'other.example.' },
  ]);
  t.same(parseDig(';; connection timed out; no servers could be reached\n'), { answers: [], flags: '', text: ';; connection timed out; no servers could be reached\n' });
});

t.test("dig -f's output splits into one answer per query, in order, a timeout included", async (t) => {
  const text = [
    '',
    '; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +tries=1 +time=2 +search +notcp web A',
    ';; global options: +cmd',
    ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 688',
    ';; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1',
    '',
    ';; ANSWER SECTION:',
    'web.default.svc.cluster.local. 30 IN\tA\t10.96.0.11',
    '',
    '; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +tries=1 +time=2 +nosearch +notcp nothing.example A',
    ';; global options: +cmd',
    ';; connection timed out; no servers could be reached',
    '',
    '; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +tries=1 +time=2 +nosearch +notcp gone.default.svc.cluster.local A',
    ';; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 2',
    ';; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1',
    '',
  ].join('\n');
  const chunks = splitBatch(text);
  t.equal(chunks.length, 3);
  t.same(chunks.map((c) => parseDig(c).status), ['NOERROR', undefined, 'NXDOMAIN']);
  t.same(parseDig(chunks[0]!).answers.map((a) => a.data), ['10.96.0.11']);
});
