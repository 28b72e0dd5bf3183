/** The server on loopback sockets: UDP, TCP, the cache, truncation, EDNS0, forwarding, reloads, malformed messages. */
import t, { type Test } from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { DnsServer, parseUpstream } from '../../../../dist/components/cluster-dns/server.js';
import { fixture, withBigHeadless } from '../../../fixtures/dns/data.js';

type Q = { name: string; type: dnsPacket.RecordType };
type Decoded = dnsPacket.DecodedPacket & { rcode: string };

function query(id: number, q: Q | Q[], opts: { edns?: number; ednsVersion?: number; dnssecOk?: boolean } = {}): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (opts.edns) {
    additionals.push({ name: '.', type: 'OPT', udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: opts.ednsVersion ?? 0, flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0, flag_do: !!opts.dnssecOk, options: [] });
  }
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: Array.isArray(q) ? q : [q], additionals });
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

/** Sends the messages on one connection (the last one in two pieces); resolves with the answers in the order they came. */
function tcp(port: number, msgs: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${out.length} of ${msgs.length} TCP answers`));
    }, 4000);
    s.on('connect', () => {
      const framed = msgs.map((m) => {
        const p = Buffer.alloc(2);
        p.writeUInt16BE(m.length);
        return Buffer.concat([p, m]);
      });
      const last = framed.pop()!;
      for (const f of framed) s.write(f);
      s.write(last.subarray(0, 5));
      setTimeout(() => s.write(last.subarray(5)), 50);
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === msgs.length) {
        clearTimeout(timer);
        s.destroy();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

const decode = (b: Buffer) => dnsPacket.decode(b) as Decoded;
const addresses = (p: dnsPacket.Packet) => (p.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data);
const opt = (p: dnsPacket.Packet) => (p.additionals ?? []).find((a): a is dnsPacket.OptAnswer => a.type === 'OPT');

async function started(t: Test, data = fixture()): Promise<DnsServer> {
  const s = new DnsServer(data, { host: '127.0.0.1', port: 0 });
  await s.start();
  t.teardown(() => s.close());
  return s;
}

t.test('UDP: an authoritative answer with the query ID; the cache answers repeats, in the case asked', async (t) => {
  const s = await started(t);
  t.ok(s.port > 0, `bound to ${s.port}`);
  const a = decode(await udp(s.port, query(4711, { name: 'web.default.svc.cluster.local', type: 'A' })));
  t.strictSame([a.id, a.rcode, a.flag_qr, a.flag_aa, a.flag_rd, a.flag_ra, a.flag_tc], [4711, 'NOERROR', true, true, true, true, false]);
  t.strictSame(a.questions, [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }]);
  t.strictSame(a.answers, [{ name: 'web.default.svc.cluster.local', type: 'A', ttl: 30, class: 'IN', flush: false, data: '10.96.0.20' }]);
  t.strictSame([s.counters.cacheHits, s.counters.cacheMisses, s.cacheSize], [0, 1, 1]);

  const again = decode(await udp(s.port, query(4712, { name: 'WEB.default.SVC.cluster.local', type: 'A' })));
  t.equal(again.id, 4712, 'the cached answer carries the new ID');
  t.equal(again.questions?.[0]?.name, 'WEB.default.SVC.cluster.local', 'and the question as asked');
  t.strictSame((again.answers ?? []).map((r) => [r.name, (r as { data: string }).data]), [['WEB.default.SVC.cluster.local', '10.96.0.20']], 'the answer owned by the name as asked');
  t.strictSame([s.counters.cacheHits, s.counters.cacheMisses, s.cacheSize], [1, 1, 1], 'one entry for both spellings');
  const third = decode(await udp(s.port, query(9, { name: 'web.default.svc.cluster.local', type: 'A' })));
  t.strictSame([third.id, third.answers?.[0]?.name, s.counters.cacheHits], [9, 'web.default.svc.cluster.local', 2]);

  const nx = decode(await udp(s.port, query(1, { name: 'nosuch.default.svc.cluster.local', type: 'A' })));
  t.strictSame([nx.rcode, nx.flag_aa, nx.answers], ['NXDOMAIN', true, []]);
  t.strictSame(nx.authorities?.map((r) => [r.name, r.type, (r as { data: { serial: number; minimum: number } }).data.serial]), [['cluster.local', 'SOA', 42]]);
  const nodata = decode(await udp(s.port, query(2, { name: 'web.default.svc.cluster.local', type: 'AAAA' })));
  t.strictSame([nodata.rcode, nodata.answers, nodata.authorities?.length], ['NOERROR', [], 1]);
  t.strictSame(s.counters.responses, { NOERROR: 4, NXDOMAIN: 1 });
  t.equal(s.counters.requests.udp, 5);
});

t.test('TCP: several queries on one connection, a message split across segments', async (t) => {
  const s = await started(t);
  const answers = (await tcp(s.port, [query(1, { name: 'db.default.svc.cluster.local', type: 'A' }), query(2, { name: '_pg._tcp.db.default.svc.cluster.local', type: 'SRV' })])).map(decode);
  const byId = new Map(answers.map((a) => [a.id, a]));
  t.strictSame(addresses(byId.get(1)!), ['10.244.1.5', '10.244.2.5']);
  t.strictSame(
    (byId.get(2)!.answers ?? []).map((x) => (x as dnsPacket.SrvAnswer).data),
    [
      { priority: 0, weight: 50, port: 5432, target: 'db-0.db.default.svc.cluster.local' },
      { priority: 0, weight: 50, port: 5432, target: 'db-1.db.default.svc.cluster.local' },
    ],
  );
  t.strictSame(addresses({ answers: byId.get(2)!.additionals ?? [] }), ['10.244.1.5', '10.244.2.5'], 'SRV targets in additionals');
  t.equal(s.counters.requests.tcp, 2);
});

t.test('truncation: 60 endpoints set TC over plain UDP, come whole over TCP and with a big enough EDNS0 size', async (t) => {
  const s = await started(t, withBigHeadless(60));
  const q = { name: 'big.default.svc.cluster.local', type: 'A' as const };
  const plain = await udp(s.port, query(7, q));
  const p = decode(plain);
  t.ok(plain.length <= 512, `${plain.length} bytes`);
  t.strictSame([p.id, p.rcode, p.flag_tc, p.flag_aa, p.answers, p.authorities, p.additionals], [7, 'NOERROR', true, true, [], [], []], 'header and question only, TC set');
  t.equal(p.questions?.[0]?.name, q.name);
  const cachedTc = decode(await udp(s.port, query(8, q)));
  t.strictSame([cachedTc.id, cachedTc.flag_tc, s.counters.cacheHits], [8, true, 1], 'the truncated answer is cached as such');

  const [whole] = await tcp(s.port, [query(9, q)]);
  t.ok(whole!.length > 1232, `${whole!.length} bytes over TCP`);
  t.strictSame([decode(whole!).flag_tc, addresses(decode(whole!)).length], [false, 60]);

  const big = await udp(s.port, query(10, q, { edns: 4096 }));
  const b = decode(big);
  t.strictSame([b.flag_tc, addresses(b).length], [false, 60], 'EDNS0 4096: all 60 over UDP');
  t.ok(big.length > 1232 && big.length <= 4096, `${big.length} bytes`);
  t.strictSame([opt(b)?.udpPayloadSize, opt(b)?.ednsVersion], [1232, 0], 'our OPT record is echoed');

  const small = decode(await udp(s.port, query(11, q, { edns: 1232, dnssecOk: true })));
  t.strictSame([small.flag_tc, small.answers, opt(small)?.flag_do], [true, [], true], 'EDNS0 1232 is too small: TC, the OPT kept, DO echoed');
  t.equal(s.counters.truncated, 2);

  const fits = decode(await udp(s.port, query(12, { name: 'db.default.svc.cluster.local', type: 'A' }, { edns: 1232 })));
  t.strictSame([fits.flag_tc, addresses(fits).length, opt(fits)?.udpPayloadSize], [false, 2, 1232]);
  t.equal(opt(decode(await udp(s.port, query(13, { name: 'db.default.svc.cluster.local', type: 'A' })))), undefined, 'no OPT without one in the query');
});

/** A fake upstream on loopback, UDP and TCP on one port; it answers `<name> A` with 198.51.100.7 (UDP) or .8 (TCP), and never answers `silent.example`. */
async function fakeUpstream(t: Test): Promise<{ port: number; seen: { transport: string; id: number; name: string }[] }> {
  const seen: { transport: string; id: number; name: string }[] = [];
  const reply = (m: Buffer, transport: string): Buffer | undefined => {
    const q = dnsPacket.decode(m);
    const name = q.questions![0]!.name;
    seen.push({ transport, id: q.id!, name });
    if (name === 'silent.example') return undefined;
    if (name === 'nx.example') return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 3, questions: q.questions, authorities: [{ name: 'example', type: 'SOA', ttl: 60, data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }] });
    const answers: dnsPacket.Answer[] = q.questions![0]!.type === 'A' ? [{ name, type: 'A', ttl: 60, data: transport === 'udp' ? '198.51.100.7' : '198.51.100.8' }] : [];
    return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers });
  };
  let sock: Socket | undefined;
  let server: Server | undefined;
  for (let i = 0; i < 10 && !server; i++) {
    const u = createSocket('udp4');
    await new Promise<void>((r) => u.bind(0, '127.0.0.1', () => r()));
    const srv = createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const out = reply(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
          buf = buf.subarray(2 + buf.readUInt16BE(0));
          if (out) {
            const p = Buffer.alloc(2);
            p.writeUInt16BE(out.length);
            c.write(Buffer.concat([p, out]));
          }
        }
      });
      c.on('error', () => c.destroy());
    });
    const ok = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(u.address().port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      sock = u;
      server = srv;
    } else u.close();
  }
  if (!sock || !server) throw new Error('no port for the fake upstream');
  const u = sock;
  u.on('message', (m, rinfo) => {
    const out = reply(m, 'udp');
    if (out) u.send(out, rinfo.port, rinfo.address);
  });
  const srv = server;
  t.teardown(() => {
    u.close();
    srv.close();
  });
  return { port: u.address().port, seen };
}

t.test('forwarding: relayed with the ID kept, over the transport asked; ExternalName targets chased', async (t) => {
  const up = await fakeUpstream(t);
  const s = await started(t, fixture({ upstream: [`127.0.0.1:${up.port}`] }));
  const a = decode(await udp(s.port, query(321, { name: 'example.org', type: 'A' })));
  t.strictSame([a.id, a.rcode, a.flag_aa, a.flag_ra, addresses(a)], [321, 'NOERROR', false, true, ['198.51.100.7']]);
  t.strictSame(up.seen.at(-1), { transport: 'udp', id: 321, name: 'example.org' }, 'the upstream got the query with its ID');
  const [overTcp] = await tcp(s.port, [query(322, { name: 'example.org', type: 'A' })]);
  t.strictSame([decode(overTcp!).id, addresses(decode(overTcp!))], [322, ['198.51.100.8']], 'a TCP query is forwarded over TCP');
  t.strictSame(up.seen.at(-1), { transport: 'tcp', id: 322, name: 'example.org' });
  t.equal(decode(await udp(s.port, query(323, { name: 'nx.example', type: 'A' }))).rcode, 'NXDOMAIN', 'the upstream rcode is relayed');
  const unknownPtr = decode(await udp(s.port, query(324, { name: '99.9.244.10.in-addr.arpa', type: 'PTR' })));
  t.strictSame([unknownPtr.id, unknownPtr.rcode, up.seen.at(-1)?.name], [324, 'NOERROR', '99.9.244.10.in-addr.arpa'], 'unknown reverse names fall through');
  t.equal(s.cacheSize, 0, 'relayed answers are not cached');

  const chased = decode(await udp(s.port, query(5, { name: 'legacy.other.svc.cluster.local', type: 'A' })));
  t.strictSame(
    [chased.rcode, chased.flag_aa, (chased.answers ?? []).map((x) => [x.name, x.type, (x as { data: string }).data])],
    [
      'NOERROR',
      true,
      [
        ['legacy.other.svc.cluster.local', 'CNAME', 'legacy.example.net'],
        ['legacy.example.net', 'A', '198.51.100.7'],
      ],
    ],
    'ExternalName followed through the upstream',
  );
  t.equal(s.counters.forwards, 5);
  const local = decode(await udp(s.port, query(6, { name: 'web.default.svc.cluster.local', type: 'A' })));
  t.strictSame([local.flag_aa, local.flag_ra, addresses(local)], [true, true, ['10.96.0.20']], 'local names are still answered here');
});

t.test('an upstream that never answers: SERVFAIL once its timeout is out, not a hang', async (t) => {
  const up = await fakeUpstream(t);
  const s = await started(t, fixture({ upstream: [`127.0.0.1:${up.port}`] }));
  const fail = decode(await udp(s.port, query(6, { name: 'silent.example', type: 'A' }), 5000));
  t.strictSame([fail.id, fail.rcode, fail.questions?.[0]?.name], [6, 'SERVFAIL', 'silent.example']);
  t.ok(up.seen.some((q) => q.name === 'silent.example'), 'the query was forwarded, and the upstream said nothing');
  t.equal(s.counters.forwardFailures, 1, 'counted as a failed forward');
});

t.test('setData: new records at once, the cache of the old ones gone; unusable data refused', async (t) => {
  const s = await started(t);
  const q = () => udp(s.port, query(1, { name: 'web.default.svc.cluster.local', type: 'A' }));
  t.strictSame(addresses(decode(await q())), ['10.96.0.20']);
  t.strictSame(addresses(decode(await q())), ['10.96.0.20']);
  t.equal(s.counters.cacheHits, 1, 'the second came from the cache');
  const next = fixture({ serial: 43 });
  next.cluster!.services = next.cluster!.services.filter((x) => x.name !== 'web');
  s.setData(next);
  t.equal(s.cacheSize, 0);
  const after = decode(await q());
  t.strictSame([after.rcode, (after.authorities?.[0] as dnsPacket.SoaAnswer).data.serial], ['NXDOMAIN', 43]);
  t.equal(s.counters.cacheHits, 1, 'not a cache hit');
  t.throws(() => s.setData(fixture({ serial: 44, upstream: ['not-an-ip'] })), /not-an-ip/);
  t.equal(s.data.serial, 43, 'the old data stays');
  t.equal(decode(await q()).rcode, 'NXDOMAIN');
  t.strictSame(parseUpstream('203.0.113.3'), { host: '203.0.113.3', port: 53 });
  t.strictSame(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  t.strictSame(parseUpstream('[::1]:53'), { host: '::1', port: 53 });
});

t.test('malformed: two questions FORMERR, other opcodes NOTIMP, garbage after a header FORMERR, no header no answer', async (t) => {
  const s = await started(t);
  const two = decode(await udp(s.port, query(11, [{ name: 'a.cluster.local', type: 'A' }, { name: 'b.cluster.local', type: 'A' }])));
  t.strictSame([two.id, two.rcode, two.flag_qr, two.answers], [11, 'FORMERR', true, []]);
  const none = decode(await udp(s.port, dnsPacket.encode({ id: 14, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [] })));
  t.strictSame([none.id, none.rcode], [14, 'FORMERR'], 'no question');
  const notify = query(12, { name: 'cluster.local', type: 'SOA' });
  notify[2] = (notify[2]! & 0x87) | (4 << 3); // opcode NOTIFY
  t.strictSame([decode(await udp(s.port, notify)).id, decode(await udp(s.port, notify)).rcode], [12, 'NOTIMP']);
  const garbage = Buffer.concat([query(13, { name: 'x', type: 'A' }).subarray(0, 12), Buffer.from([0x3f, 0x61])]);
  const g = decode(await udp(s.port, garbage));
  t.strictSame([g.id, g.rcode, g.flag_rd], [13, 'FORMERR', true]);
  t.equal(await s.handle(Buffer.from([1, 2, 3, 4, 5]), 'udp'), undefined, 'too short for a header: dropped');
  const response = dnsPacket.encode({ id: 15, type: 'response', flags: 0, questions: [{ name: 'x', type: 'A' }] });
  t.equal(await s.handle(response, 'udp'), undefined, 'a response is not answered');
  t.equal(s.counters.dropped, 2);
  const badvers = decode((await s.handle(query(16, { name: 'web.default.svc.cluster.local', type: 'A' }, { edns: 1232, ednsVersion: 1 }), 'udp'))!);
  t.strictSame([badvers.id, badvers.rcode, opt(badvers)?.extendedRcode, badvers.answers], [16, 'NOERROR', 1, []], 'EDNS version 1: BADVERS (extended rcode 16)');
  const chaos = decode((await s.handle(dnsPacket.encode({ id: 17, type: 'query', questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] }), 'udp'))!);
  t.strictSame([chaos.rcode, chaos.flag_aa, chaos.flag_rd], ['REFUSED', false, false]);
});
