import t from 'tap';
import { MAX_BYTES, ROUTES, identity, normaliseIP, patternChunk, respond, type ServeContext, type TextReply } from '../../../src/agent/responses.js';

const ctx: ServeContext = { pod: 'web-1', namespace: 'shop', container: 'http', node: 'node2', podIP: '10.244.1.5', serverPort: 8080 };
const peer = { address: '::ffff:10.244.2.7', port: 40123 };

function text(url: string): TextReply {
  const r = respond(url, ctx, peer);
  if (r.kind !== 'text') throw new Error(`${url}: expected a text reply`);
  return r;
}

t.test('GET / names the pod and the client address the socket saw', async (t) => {
  const r = text('/');
  t.equal(r.status, 200);
  t.match(r.contentType, /^application\/json/);
  t.ok(r.body.endsWith('\n'), 'ends with a newline, for terminals');
  t.same(JSON.parse(r.body), {
    pod: 'web-1',
    namespace: 'shop',
    container: 'http',
    node: 'node2',
    podIP: '10.244.1.5',
    clientIP: '10.244.2.7',
    clientPort: 40123,
    serverPort: 8080,
  });
  t.same(Object.keys(identity(ctx, peer)), ['pod', 'namespace', 'container', 'node', 'podIP', 'clientIP', 'clientPort', 'serverPort']);
  t.same(JSON.parse(text('/?x=1').body).pod, 'web-1', 'the query string does not change the route');
});

t.test('GET /hostname and /clientip are one line of text', async (t) => {
  t.same(text('/hostname'), { kind: 'text', status: 200, contentType: 'text/plain; charset=utf-8', body: 'web-1\n' });
  t.equal(text('/clientip').body, '10.244.2.7\n');
  t.equal(respond('/clientip', ctx, { address: '127.0.0.1', port: 1 }).kind, 'text');
  t.equal((respond('/clientip', ctx, {}) as TextReply).body, '\n', 'a socket that lost its peer gives an empty address');
});

t.test('client addresses are normalised to plain IPv4', async (t) => {
  t.equal(normaliseIP('::ffff:192.168.56.11'), '192.168.56.11');
  t.equal(normaliseIP('::FFFF:1.2.3.4'), '1.2.3.4');
  t.equal(normaliseIP('10.0.0.1'), '10.0.0.1');
  t.equal(normaliseIP('fd00::1'), 'fd00::1', 'real IPv6 stays as it is');
  t.equal(normaliseIP('::ffff:abcd'), '::ffff:abcd', 'only the IPv4-mapped form is rewritten');
  t.equal(normaliseIP(undefined), '');
});

t.test('GET /bytes/N streams exactly N bytes, N from 0 to 100 MiB', async (t) => {
  t.equal(MAX_BYTES, 104857600);
  for (const [n, length] of [['0', 0], ['1', 1], ['65536', 65536], ['0042', 42], [String(MAX_BYTES), MAX_BYTES]] as const) {
    t.same(respond(`/bytes/${n}`, ctx, peer), { kind: 'bytes', status: 200, contentType: 'application/octet-stream', length }, `/bytes/${n}`);
  }
  for (const n of [String(MAX_BYTES + 1), '-1', 'abc', '1e3', '1.5', '', ' 1', '99999999999', '0x10']) {
    const r = text(`/bytes/${n}`);
    t.equal(r.status, 400, `/bytes/${n} is refused`);
    t.match(JSON.parse(r.body).error, /whole number of bytes from 0 to 104857600/);
  }
});

t.test('anything else is a 404 in JSON that lists the routes', async (t) => {
  for (const url of ['/nope', '/hostname/', '/bytes', '//', '/HOSTNAME']) {
    const r = text(url);
    t.equal(r.status, 404, url);
    t.match(r.contentType, /json/);
    t.same(JSON.parse(r.body), { error: 'not found', path: url, routes: ROUTES });
  }
});

t.test('the byte pattern has the asked size and is printable', async (t) => {
  for (const size of [0, 1, 36, 37, 38, 65536]) t.equal(patternChunk(size).length, size);
  t.match(patternChunk(100).toString('latin1'), /^[a-z0-9\n]+$/);
});
