/** The server on loopback sockets: UDP, TCP, truncation, EDNS0, forwarding, reload, malformed queries. */
import t, { type Test } from 'tap';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { DnsServer } from '../../../src/dns/server.js';
import { bigHeadless, fixture } from '../../fixtures/dns/data.js';

type Question = { name: string; type: dnsPacket.RecordType };

function query(id: number, q: Question | Question[], edns?: number): Buffer {
  return dnsPacket.encode({
    id,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: Array.isArray(q) ? q : [q],
    ...(edns ? { additionals: [{ name: '.', type: 'OPT', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } : {}),
  });
}

function udp(port: number, msg: Buffer, timeoutMs = 4000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP answer'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** Sends every message on one connection; resolves with the answers in order. */
function tcp(port: number, msgs: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    s.on('connect', () => {
      for (const m of msgs) {
        const p = Buffer.alloc(2);
        p.writeUInt16BE(m.length);
        s.write(Buffer.concat([p, m]));
      }
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === msgs.length) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

const decode = (b: Buffer) => dnsPacket.decode(b) as dnsPacket.DecodedPacket & { rcode: string; flag_aa: boolean; flag_tc: boolean };
const addresses = (p: dnsPacket.Packet) => (p.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data);

async function started(t: Test, data = fixture()): Promise<DnsServer> {
  const s = new DnsServer(data, { host: '127.0.0.1', port: 0 });
  await s.start();
  t.teardown(() => s.close());
  return s;
}

t.test('UDP: an authoritative answer with the query ID; the cache answers repeats', async (t) => {
  const s = await started(t);
  const a = decode(await udp(s.port, query(4711, { name: 'web.default.svc.cluster.local', type: 'A' })));
  t.equal(a.id, 4711);
  t.equal(a.rcode, 'NOERROR');
  t.ok(a.flag_aa, 'aa');
  t.same(addresses(a), ['10.96.0.20']);
  const again = decode(await udp(s.port, query(4712, { name: 'web.default.svc.cluster.local', type: 'A' })));
  t.equal(again.id, 4712, 'the cached answer carries the new ID');
  t.same(addresses(again), ['10.96.0.20']);
  t.equal(s.counters.cacheHits, 1);
  const nx = decode(await udp(s.port, query(1, { name: 'nosuch.default.svc.cluster.local', type: 'A' })));
  t.equal(nx.rcode, 'NXDOMAIN');
  t.equal(nx.authorities?.[0]?.type, 'SOA');
});

t.test('TCP: several queries on one connection', async (t) => {
  const s = await started(t);
  const [a, b] = await tcp(s.port, [query(1, { name: 'db.default.svc.cluster.local', type: 'A' }), query(2, { name: '_pg._tcp.db.default.svc.cluster.local', type: 'SRV' })]);
  t.same([decode(a!).id, addresses(decode(a!))], [1, ['10.244.1.5', '10.244.2.5']]);
  t.same(
    (decode(b!).answers ?? []).map((x) => (x as { data: { weight: number; target: string } }).data.target),
    ['db-0.db.default.svc.cluster.local', 'db-1.db.default.svc.cluster.local'],
  );
});

t.test('truncation: a big answer sets TC over UDP, fits with EDNS0 up to our size, comes whole over TCP', async (t) => {
  const s = await started(t, bigHeadless(20));
  const q = { name: 'big.default.svc.cluster.local', type: 'A' as const };
  const plain = decode(await udp(s.port, query(7, q)));
  t.ok(plain.flag_tc, 'TC without EDNS0 (20 A records > 512 bytes)');
  t.same(plain.answers, []);
  const edns = decode(await udp(s.port, query(8, q, 4096)));
  t.notOk(edns.flag_tc, 'EDNS0 4096: capped at 1232 bytes, which 20 records fit');
  t.equal(addresses(edns).length, 20);
  t.ok((edns.additionals ?? []).some((a) => a.type === 'OPT'), 'the OPT record is echoed');
  const [whole] = await tcp(s.port, [query(9, q)]);
  t.notOk(decode(whole!).flag_tc);
  t.equal(addresses(decode(whole!)).length, 20);
  const huge = await started(t, bigHeadless(60));
  t.ok(decode(await udp(huge.port, query(10, q, 4096))).flag_tc, '60 records exceed 1232 bytes: TC even with EDNS0');
});

t.test('forwarding: relayed with the ID kept; a silent upstream gives SERVFAIL, not a hang', async (t) => {
  const upstream = createSocket('udp4');
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => upstream.close());
  upstream.on('message', (m, rinfo) => {
    const q = dnsPacket.decode(m);
    if (q.questions?.[0]?.name === 'silent.example') return;
    const reply = dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ name: q.questions![0]!.name, type: 'A', ttl: 60, data: '198.51.100.7' }] });
    upstream.send(reply, rinfo.port, rinfo.address);
  });
  const s = await started(t, fixture({ upstream: [`127.0.0.1:${upstream.address().port}`] }));
  const a = decode(await udp(s.port, query(321, { name: 'example.org', type: 'A' })));
  t.same([a.id, a.rcode, addresses(a)], [321, 'NOERROR', ['198.51.100.7']]);
  const chased = decode(await udp(s.port, query(5, { name: 'legacy.other.svc.cluster.local', type: 'A' })));
  t.same(
    (chased.answers ?? []).map((x) => [x.type, (x as { data: string }).data]),
    [
      ['CNAME', 'legacy.example.net'],
      ['A', '198.51.100.7'],
    ],
    'ExternalName followed through the upstream',
  );
  const started_ = Date.now();
  const fail = decode(await udp(s.port, query(6, { name: 'silent.example', type: 'A' })));
  t.equal(fail.rcode, 'SERVFAIL');
  t.ok(Date.now() - started_ < 3000, `SERVFAIL after ${Date.now() - started_} ms`);
});

t.test('setData: new records at once, the cache of the old ones gone', async (t) => {
  const s = await started(t);
  const q = () => udp(s.port, query(1, { name: 'web.default.svc.cluster.local', type: 'A' }));
  t.same(addresses(decode(await q())), ['10.96.0.20']);
  const next = fixture({ serial: 43 });
  next.cluster!.services = next.cluster!.services.filter((x) => x.name !== 'web');
  s.setData(next);
  const after = decode(await q());
  t.equal(after.rcode, 'NXDOMAIN');
  t.equal((after.authorities?.[0] as { data: { serial: number } }).data.serial, 43);
});

t.test('malformed: two questions FORMERR, a non-QUERY opcode NOTIMP, garbage after a header FORMERR', async (t) => {
  const s = await started(t);
  const two = decode(await udp(s.port, query(11, [{ name: 'a.cluster.local', type: 'A' }, { name: 'b.cluster.local', type: 'A' }])));
  t.same([two.id, two.rcode], [11, 'FORMERR']);
  const notify = query(12, { name: 'cluster.local', type: 'SOA' });
  notify[2] = (notify[2]! & 0x87) | (4 << 3); // opcode NOTIFY
  t.equal(decode(await udp(s.port, notify)).rcode, 'NOTIMP');
  const garbage = Buffer.concat([query(13, { name: 'x', type: 'A' }).subarray(0, 12), Buffer.from([0x3f, 0x61])]);
  const g = decode(await udp(s.port, garbage));
  t.same([g.id, g.rcode], [13, 'FORMERR']);
});
