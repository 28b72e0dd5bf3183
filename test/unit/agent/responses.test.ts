import t from 'tap';
import { MAX_BYTES, ROUTES, identity, normaliseIP, patternChunk, respond, type ServeContext, type TextReply, ReadyFlags } from '../../../dist/agent/responses.js';
import { ReadinessTracker } from '../../../dist/agent/readiness.js';

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

t.test('anything else is a 404 in JSON that lists the routes and says who answered', async (t) => {
  for (const url of ['/nope', '/hostname/', '/bytes', '//', '/HOSTNAME']) {
    const r = text(url);
    t.equal(r.status, 404, url);
    t.match(r.contentType, /json/);
    t.match(JSON.parse(r.body), { error: 'not found', path: url, routes: ROUTES, pod: 'web-1', namespace: 'shop', podIP: '10.244.1.5' });
  }
});

t.test('the byte pattern has the asked size and is printable', async (t) => {
  for (const size of [0, 1, 36, 37, 38, 65536]) t.equal(patternChunk(size).length, size);
  t.match(patternChunk(100).toString('latin1'), /^[a-z0-9\n]+$/);
});

t.test('/ready answers 200 until POST /ready?state=false, then 503 until state=true, per pod', async (t) => {
  const flags = new ReadyFlags();
  const other = { ...ctx, pod: 'other' };
  const at = (url: string, method = 'GET', c = ctx) => respond(url, c, {}, method, flags) as TextReply;
  t.same([at('/ready').status, at('/ready').body], [200, 'ready\n']);
  t.equal(at('/ready?state=false', 'GET').status, 200, 'a GET never changes it');
  t.equal(at('/ready?state=false', 'POST').status, 503, 'the POST answers with the new state');
  t.same([at('/ready').status, at('/ready').body], [503, 'not ready\n']);
  t.equal(at('/ready', 'GET', { ...ctx, container: 'sidecar', serverPort: 9 }).status, 503, 'every container of the pod agrees');
  t.equal(at('/ready', 'GET', other).status, 200, 'other pods are untouched');
  t.equal(at('/ready?state=maybe', 'POST').status, 400);
  t.equal(at('/ready?state=true', 'PUT').status, 200);
  t.equal(at('/ready').status, 200);
  t.equal((respond('/ready', ctx, {}) as TextReply).status, 200, 'without flags the server is ready');
});

t.test('ReadinessTracker: thresholds, reset and containers without a probe', async (t) => {
  const probe = { handler: { kind: 'httpGet' as const, path: '/ready', port: 80 }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 2, failureThreshold: 3 };
  const r = new ReadinessTracker();
  r.setProbes(new Map([['d/p/c', probe]]));
  t.equal(r.containerReady('d/p/c'), false, 'not ready before the first probe');
  t.equal(r.containerReady('d/p/unprobed'), true, 'no probe: ready while running');
  t.equal(r.record('d/p/c', true, 'HTTP 200'), false);
  t.equal(r.record('d/p/c', true, 'HTTP 200'), true, 'ready after successThreshold successes');
  t.equal(r.record('d/p/c', false, '503'), false);
  t.equal(r.record('d/p/c', false, '503'), false);
  t.equal(r.record('d/p/c', true, 'HTTP 200'), false, 'a success in between resets the failure count');
  t.equal(r.record('d/p/c', false, '503') || r.record('d/p/c', false, '503'), false);
  t.equal(r.record('d/p/c', false, 'HTTP probe failed with statuscode: 503'), true, 'not ready after failureThreshold failures');
  t.equal(r.lastResult('d/p/c'), 'HTTP probe failed with statuscode: 503');
  r.record('d/p/c', true, 'x');
  r.record('d/p/c', true, 'x');
  r.reset('d/p/c');
  t.equal(r.containerReady('d/p/c'), false, 'a restarted container starts over');
  r.setProbes(new Map([['d/p/c', probe]]));
  r.record('d/p/c', true, 'x');
  r.record('d/p/c', true, 'x');
  r.setProbes(new Map([['d/p/c', { ...probe, periodSeconds: 5 }]]));
  t.equal(r.containerReady('d/p/c'), false, 'a changed probe starts over');
  r.setProbes(new Map());
  t.equal(r.containerReady('d/p/c'), true, 'a removed probe: ready while running');
});
