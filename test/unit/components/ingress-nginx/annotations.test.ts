/**
 * The ingress-nginx annotations: the nginx.conf text each one renders, what
 * `routeRequest` predicts, and the real nginx on loopback doing it —
 * rewrites with captures, redirects with their codes, ssl-redirect and its
 * off switch, app-root, allow- and denylists, canary by weight, header and
 * cookie, cookie affinity, hashing, the body size limit, HTTPS and gRPC
 * backends, endpoints vs. service-upstream, and 503 without endpoints.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect, createServer as createH2Server, type ClientHttp2Session } from 'node:http2';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConf, upstreamName, type NginxConfInput } from '../../../../dist/components/ingress-nginx/nginx-conf.js';
import { routeRequest, rewriteUri, type RouteRequest } from '../../../../dist/components/ingress-nginx/route.js';
import { planServers, type UpstreamRef } from '../../../../dist/components/ingress-nginx/servers.js';
import type { IngressSpec, NginxAnnotations } from '../../../../dist/spec/ingress.js';
import { ingress } from '../../../fixtures/ingress/cases.js';
import { freePort, get, HAVE_NGINX, makeCert, NGINX, startNginx, type Reply } from '../../../helpers/nginx-loopback.js';

const P = 'nginx.ingress.kubernetes.io/';
const FAKE_CN = 'Kubernetes Ingress Controller Fake Certificate';
const skip = HAVE_NGINX ? false : `${NGINX} is not installed`;

const ann = (name: string, rules: Parameters<typeof ingress>[1], annotations: NginxAnnotations, extra: Parameters<typeof ingress>[2] = {}): IngressSpec => ingress(name, rules, { ...extra, annotations });

const input = (ingresses: IngressSpec[], upstream: NginxConfInput['upstream'] = (u) => [`10.0.0.1:${u.backend.service.length}`]): NginxConfInput => ({
  ingresses,
  upstream,
  cert: () => ({ certFile: '/c.crt', keyFile: '/c.key' }),
  defaultCert: { certFile: '/f.crt', keyFile: '/f.key' },
  listen: { http: 80, https: 443, health: 10254, internal: 8181 },
  files: { prefix: '/p', pid: '/p/pid', errorLog: '/p/err' },
});

/** The body of the first location whose head contains `head`, up to the next location. */
function location(conf: string, head: string): string {
  const i = conf.indexOf(`location ${head}`);
  return i < 0 ? '' : conf.slice(i, conf.indexOf('\n    location', i + 1) < 0 ? undefined : conf.indexOf('\n    location', i + 1));
}

t.test('the nginx.conf text of each annotation', async (t) => {
  const conf = renderNginxConf(
    input([
      ann('rw', [{ host: 'rw.test', paths: [['ImplementationSpecific', '/something(/|$)(.*)', 'web']] }], { rewriteTarget: '/$2' }),
      ann('plain', [{ host: 'rw.test', paths: [['Prefix', '/static', 'web']] }], {}),
      ann('acl', [{ host: 'acl.test', paths: [['Prefix', '/', 'web']] }], { allowlist: ['203.0.113.0/24'], denylist: ['203.0.113.9/32'], proxyBodySize: '8k', appRoot: '/app1' }),
      ann('moved', [{ host: 'moved.test', paths: [['Prefix', '/', 'web']] }], { redirect: { url: 'https://new.test$request_uri', code: 308 } }),
      ann('grpc', [{ host: 'grpc.test', paths: [['Prefix', '/', 'grpc']] }], { backendProtocol: 'GRPC', forceSslRedirect: true }),
      ann('sticky', [{ host: 'sticky.test', paths: [['Prefix', '/', 'sticky']] }], { affinity: { cookieName: 'route' } }),
      ann('hash', [{ host: 'hash.test', paths: [['Prefix', '/', 'web']] }], { upstreamHashBy: '$request_uri', serviceUpstream: true }),
      ann('main', [{ host: 'canary.test', paths: [['Prefix', '/', 'web']] }], {}),
      ann('canary', [{ host: 'canary.test', paths: [['Prefix', '/', 'next']] }], { canary: { weight: 20, weightTotal: 100, header: 'X-Canary', cookie: 'canary-cookie' } }),
    ]),
  );
  t.match(location(conf, '~* "^/something(/|$)(.*)"'), 'rewrite "(?i)/something(/|$)(.*)" /$2 break;', 'rewrite with the path as the regex');
  t.match(conf, 'location ~* "^/static/"', 'a regex host takes every path as a regex, normalised prefixes too');
  t.match(conf, 'location ~* "^/static"');
  t.ok(conf.indexOf('location ~* "^/something(/|$)(.*)"') < conf.indexOf('location ~* "^/static/"'), 'longest first');
  const acl = location(conf, '"/" {\n      # default/acl');
  for (const line of ['deny 203.0.113.9/32;', 'allow 203.0.113.0/24;', 'deny all;', 'client_max_body_size 8k;']) t.match(acl, line);
  t.match(conf, /server_name acl\.test;\n\s*if \(\$uri = \/\) \{\n\s*return 302 \$scheme:\/\/\$http_host\/app1;\n\s*\}\n\s*location/, 'app-root at server level, before any location, as ingress-nginx writes it');
  t.match(location(conf, '"/" {\n      # default/moved'), 'return 308 "https://new.test$request_uri";');
  const grpc = location(conf, '"/" {\n      # default/grpc');
  t.match(grpc, 'if ($scheme = http) {', 'force-ssl-redirect without a certificate');
  t.match(grpc, 'grpc_pass grpc://default-grpc-80;');
  t.match(location(conf, '"/" {\n      # default/sticky'), /proxy_pass http:\/\/\$netlab_affinity_\d+;\n\s*add_header Set-Cookie \$netlab_affinity_cookie_\d+ always;/);
  t.match(conf, /map \$cookie_route \$netlab_affinity_\d+ \{\n\s*[0-9a-f]{32} 10\.0\.0\.1:6;\n\s*default default-sticky-80;/);
  t.match(conf, /upstream default-web-80-service-hash-[0-9a-f]+ \{\n[^}]*hash \$request_uri consistent;/);
  t.match(conf, /split_clients "\$request_id" \$netlab_canary_weight_\d+ \{\n\s*20% 1;\n\s*\* 0;/);
  t.match(conf, /map \$http_x_canary \$netlab_canary_header_\d+ \{\n\s*"~\^always\$" 1;\n\s*"~\^never\$" 0;/);
  t.match(conf, /map \$http_cookie \$netlab_cookie_c\d+ \{/, 'a cookie name with a dash is read from the Cookie header');
  t.match(conf, /map "\$\{netlab_canary_header_\d+\}\$\{netlab_canary_cookie_\d+\}\$\{netlab_canary_weight_\d+\}" \$netlab_canary_\d+ \{\n\s*"~\^1" default-next-80;\n\s*default default-web-80;/);
  t.match(location(conf, '"/" {\n      # default/main'), /# canary: default\/canary\n[\s\S]*proxy_pass http:\/\/\$netlab_canary_\d+;/);
  t.notMatch(conf, /# default\/canary:/, 'a canary adds no location of its own');
});

t.test('the text of the remaining protocols and switches', async (t) => {
  const conf = renderNginxConf(
    input([
      ann('https', [{ host: 'a.test', paths: [['Prefix', '/', 'web']] }], { backendProtocol: 'HTTPS' }),
      ann('grpcs', [{ host: 'b.test', paths: [['Prefix', '/', 'web']] }], { backendProtocol: 'GRPCS' }),
      ann('auto', [{ host: 'c.test', paths: [['Prefix', '/', 'web']] }], { backendProtocol: 'AUTO_HTTP' }),
      ann('off', [{ host: 'd.test', paths: [['Prefix', '/', 'web']] }], { sslRedirect: false }, { tls: [{ hosts: ['d.test'] }] }),
      ann('temp', [{ host: 'e.test', paths: [['Prefix', '/', 'web']] }], { redirect: { url: 'https://x.test/', code: 302 } }),
      ann('value', [{ host: 'f.test', paths: [['Prefix', '/', 'web']] }], {}),
      ann('value-canary', [{ host: 'f.test', paths: [['Prefix', '/', 'next']] }], { canary: { weight: 100, weightTotal: 100, header: 'X-Version', headerValue: 'v2.1' } }),
      ann('pattern', [{ host: 'g.test', paths: [['Prefix', '/', 'web']] }], {}),
      ann('pattern-canary', [{ host: 'g.test', paths: [['Prefix', '/', 'next']] }], { canary: { weight: 1, weightTotal: 3, header: 'X-Version', headerPattern: '^v2' } }),
    ]),
  );
  t.match(location(conf, '"/" {\n      # default/https'), 'proxy_pass https://default-web-80;');
  t.match(location(conf, '"/" {\n      # default/grpcs'), 'grpc_pass grpcs://default-web-80;');
  t.match(location(conf, '"/" {\n      # default/auto'), 'proxy_pass $scheme://default-web-80;');
  t.notMatch(location(conf, '"/" {\n      # default/off'), 'if ($scheme = http)', 'ssl-redirect "false": no redirect on a TLS host');
  t.match(location(conf, '"/" {\n      # default/temp'), 'return 302 "https://x.test/";');
  t.match(conf, /map \$http_x_version \$netlab_canary_header_\d+ \{\n\s*"~\^v2\\\\\.1\$" 1;\n\s*default "";/, 'a header value matches exactly (case-sensitive, dots escaped)');
  t.match(conf, /map "\$\{netlab_canary_header_\d+\}1"/, 'weight 100: the literal 1 after the header');
  t.match(conf, /"~\^v2" 1;/, 'a header pattern');
  t.match(conf, /split_clients "\$request_id" \$netlab_canary_weight_\d+ \{\n\s*1% 1;/, 'a weight out of a total under 100 counts out of 100, as ingress-nginx does');
});

t.test('routeRequest: what each annotation does to one request', async (t) => {
  const servers = planServers([
    ann('rw', [{ host: 'rw.test', paths: [['ImplementationSpecific', '/something(/|$)(.*)', 'web']] }], { rewriteTarget: '/$2' }),
    ingress('tls', [{ host: 'tls.test', paths: [['Prefix', '/', 'web']] }], { tls: [{ hosts: ['tls.test'] }] }),
    ann('off', [{ host: 'off.test', paths: [['Prefix', '/', 'web']] }], { sslRedirect: false }, { tls: [{ hosts: ['off.test'] }] }),
    ann('acl', [{ host: 'acl.test', paths: [['Prefix', '/', 'web']] }], { allowlist: ['198.51.100.0/24'] }),
    ann('main', [{ host: 'c.test', paths: [['Prefix', '/', 'web']] }], {}),
    ann('canary', [{ host: 'c.test', paths: [['Prefix', '/', 'next']] }], { canary: { weight: 0, weightTotal: 100, header: 'X-Canary', headerValue: 'on' } }),
  ]);
  const r = (req: Partial<RouteRequest> & { host: string; target: string }) => routeRequest(servers, { scheme: 'http', ...req });
  t.match(r({ host: 'rw.test', target: '/something/new?x=1' }), { kind: 'proxy', uri: '/new?x=1' });
  t.match(r({ host: 'rw.test', target: '/SOMETHING' }), { kind: 'proxy', uri: '/' }, 'case-insensitive, as ~* and (?i)');
  t.match(r({ host: 'tls.test', target: '/a/' }), { kind: 'redirect', status: 308, location: 'https://tls.test/a' });
  t.match(r({ host: 'off.test', target: '/' }), { kind: 'proxy', uri: '/' });
  t.match(r({ host: 'acl.test', target: '/', clientIP: '203.0.113.9' }), { kind: 'nginx', status: 403 });
  t.match(r({ host: 'acl.test', target: '/', clientIP: '198.51.100.9' }), { kind: 'proxy' });
  t.match(r({ host: 'c.test', target: '/' }), { kind: 'proxy', canary: 'no' });
  t.match(r({ host: 'c.test', target: '/', headers: { 'x-canary': 'on' } }), { kind: 'proxy', canary: 'yes' });
  t.match(r({ host: 'c.test', target: '/', headers: { 'x-canary': 'always' } }), { kind: 'proxy', canary: 'no' }, 'with a header value, only that value counts');
  t.equal(rewriteUri('/a/(.*)', '/b/$1?x=1', '/a/c', 'y=2'), '/b/c?x=1&y=2', 'a replacement with arguments keeps the request\'s after them');
});

// ---------------------------------------------------------------------------
// The real nginx

interface Seen {
  id: string;
  uri: string;
  host: string;
  proto?: string;
}

/** Loopback backends answering who they are and what they got; `kind` picks the protocol. */
async function backend(t: Test, id: string, kind: 'http' | 'https' | 'h2c' = 'http', certs?: { key: string; cert: string }): Promise<string> {
  const reply = (url: string | undefined, host: string | undefined, proto?: string) => JSON.stringify({ id, uri: url ?? '', host: host ?? '', ...(proto ? { proto } : {}) });
  let server: Server | ReturnType<typeof createH2Server>;
  if (kind === 'h2c') {
    const h2 = createH2Server();
    h2.on('stream', (stream, headers) => {
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        const body = Buffer.from(reply(String(headers[':path']), String(headers[':authority'] ?? headers.host), 'h2'));
        const head = Buffer.alloc(5);
        head.writeUInt32BE(body.length, 1);
        stream.end(Buffer.concat([head, body]));
      });
    });
    server = h2;
  } else {
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      req.resume();
      req.on('end', () => res.end(reply(req.url, req.headers.host, kind)));
    };
    server = kind === 'https' ? createHttpsServer(certs!, handler) : createHttpServer(handler);
  }
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

const seen = (r: Reply): Seen => JSON.parse(r.body) as Seen;

interface Lab {
  http: number;
  https: number;
}

async function nginx(t: Test, ingresses: IngressSpec[], upstream: NginxConfInput['upstream']): Promise<Lab & { conf: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-ann-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = makeCert(dir, 'fake', FAKE_CN, 'ingress.local');
  const [http, https, health, internal] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const conf = renderNginxConf({
    ingresses,
    upstream,
    cert: () => fake,
    defaultCert: fake,
    listen: { address: '127.0.0.1', http, https, health, internal },
    files: { prefix: dir, pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log') },
  });
  await startNginx(t, dir, conf, health);
  return { http, https, conf };
}

/** What routeRequest says for the same request, reduced to what a client sees. */
function predicted(servers: ReturnType<typeof planServers>, req: RouteRequest, upstreams: (u: UpstreamRef) => string[]): { status: number; location?: string; uri?: string } {
  const o = routeRequest(servers, req);
  if (o.kind === 'redirect') return { status: o.status, location: o.location };
  if (o.kind === 'nginx') return { status: o.status };
  return upstreams(o.upstream).length ? { status: 200, uri: o.uri } : { status: 503 };
}

t.test('the real nginx does what routeRequest says, annotation by annotation', { skip }, async (t) => {
  const [web, next, other] = [await backend(t, 'web'), await backend(t, 'next'), await backend(t, 'other')];
  const addrs: Record<string, string[]> = { web: [web], next: [next], other: [other], two: [web, other], empty: [] };
  const upstream = (u: UpstreamRef) => (u.backend.service === 'missing' ? undefined : addrs[u.backend.service] ?? []);
  const ingresses = [
    ann('rw', [{ host: 'rw.test', paths: [['ImplementationSpecific', '/something(/|$)(.*)', 'web']] }], { rewriteTarget: '/$2' }),
    ingress('rw-plain', [{ host: 'rw.test', paths: [['Prefix', '/static', 'other']] }]),
    ingress('tls', [{ host: 'tls.test', paths: [['Prefix', '/', 'web']] }], { tls: [{ hosts: ['tls.test'] }] }),
    ann('off', [{ host: 'off.test', paths: [['Prefix', '/', 'web']] }], { sslRedirect: false }, { tls: [{ hosts: ['off.test'] }] }),
    ann('force', [{ host: 'force.test', paths: [['Prefix', '/', 'web']] }], { forceSslRedirect: true }),
    ann('root', [{ host: 'root.test', paths: [['Prefix', '/', 'web']] }], { appRoot: '/app1' }),
    ann('perm', [{ host: 'perm.test', paths: [['Prefix', '/', 'web']] }], { redirect: { url: 'https://new.test$request_uri', code: 301 } }),
    ann('temp', [{ host: 'temp.test', paths: [['Prefix', '/', 'web']] }], { redirect: { url: 'https://elsewhere.test/', code: 307 } }),
    ann('allow-other', [{ host: 'closed.test', paths: [['Prefix', '/', 'web']] }], { allowlist: ['203.0.113.0/24'] }),
    ann('allow-me', [{ host: 'open.test', paths: [['Prefix', '/', 'web']] }], { allowlist: ['127.0.0.0/8'] }),
    ann('deny-me', [{ host: 'denied.test', paths: [['Prefix', '/', 'web']] }], { denylist: ['127.0.0.1/32'] }),
    ingress('none', [{ host: 'none.test', paths: [['Prefix', '/', 'empty'], ['Prefix', '/gone', 'missing']] }]),
  ];
  const lab = await nginx(t, ingresses, upstream);
  const servers = planServers(ingresses);
  const cases: [string, string, 'http' | 'https'][] = [
    ['rw.test', '/something/new?x=1', 'http'],
    ['rw.test', '/something', 'http'],
    ['rw.test', '/Something/deep/er', 'http'],
    ['rw.test', '/static/app.js', 'http'],
    ['rw.test', '/staticky', 'http'],
    ['rw.test', '/elsewhere', 'http'],
    ['tls.test', '/', 'http'],
    ['tls.test', '/a/b/?q=1', 'http'],
    ['tls.test', '/a', 'https'],
    ['off.test', '/a', 'http'],
    ['force.test', '/x/', 'http'],
    ['force.test', '/x/', 'https'],
    ['root.test', '/', 'http'],
    ['root.test', '/other', 'http'],
    ['perm.test', '/p?q=1', 'http'],
    ['temp.test', '/t', 'https'],
    ['closed.test', '/', 'http'],
    ['open.test', '/', 'http'],
    ['denied.test', '/', 'http'],
    ['none.test', '/', 'http'],
    ['none.test', '/gone', 'http'],
  ];
  for (const [host, target, scheme] of cases) {
    const want = predicted(servers, { scheme, host, target, clientIP: '127.0.0.1' }, (u) => upstream(u) ?? []);
    const got = await get(scheme, scheme === 'http' ? lab.http : lab.https, host, target);
    const gotUri = got.status === 200 ? seen(got).uri : undefined;
    t.same({ status: got.status, ...(got.headers.location ? { location: got.headers.location } : {}), ...(gotUri !== undefined ? { uri: gotUri } : {}) }, want, `${scheme}://${host}${target}`);
  }
  // The expectations above come from routeRequest; these pin routeRequest to ingress-nginx's documented answers.
  t.equal(seen(await get('http', lab.http, 'rw.test', '/something/new')).uri, '/new');
  t.same([(await get('http', lab.http, 'tls.test', '/')).headers.location, (await get('http', lab.http, 'off.test', '/')).status], ['https://tls.test', 200]);
  t.same((await get('http', lab.http, 'root.test', '/')).headers.location, `http://root.test/app1`);
  t.same([(await get('http', lab.http, 'closed.test', '/')).status, (await get('http', lab.http, 'open.test', '/')).status], [403, 200]);
  t.equal((await get('http', lab.http, 'none.test', '/')).status, 503, 'no ready endpoint: 503');
});

t.test('the real nginx: canary by weight, header and cookie', { skip }, async (t) => {
  const [web, next] = [await backend(t, 'web'), await backend(t, 'next')];
  const addrs: Record<string, string> = { web, next };
  const canary = (name: string, host: string, c: Partial<NonNullable<NginxAnnotations['canary']>>) => [
    ingress(`${name}-main`, [{ host, paths: [['Prefix', '/', 'web']] }]),
    ann(`${name}-canary`, [{ host, paths: [['Prefix', '/', 'next']] }], { canary: { weight: 0, weightTotal: 100, ...c } }),
  ];
  const lab = await nginx(
    t,
    [
      ...canary('zero', 'zero.test', { weight: 0 }),
      ...canary('all', 'all.test', { weight: 100 }),
      ...canary('half', 'half.test', { weight: 50 }),
      ...canary('header', 'header.test', { header: 'X-Canary', cookie: 'canary' }),
      ...canary('value', 'value.test', { header: 'X-Canary', headerValue: 'blue', weight: 100 }),
      ...canary('dot', 'dot.test', { header: 'X-Version', headerValue: 'v2.1' }),
    ],
    (u) => [addrs[u.backend.service]!],
  );
  const ids = async (host: string, n: number, headers: Record<string, string> = {}) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(seen(await get('http', lab.http, host, '/', { headers })).id);
    return out;
  };
  t.same(new Set(await ids('zero.test', 20)), new Set(['web']), 'weight 0: never the canary');
  t.same(new Set(await ids('all.test', 20)), new Set(['next']), 'weight 100: always the canary');
  // 60 requests at 50%: both sides answer unless nginx never picks one (2^-59).
  t.same(new Set(await ids('half.test', 60)), new Set(['web', 'next']), 'weight 50: both');
  t.same(new Set(await ids('header.test', 10, { 'X-Canary': 'always' })), new Set(['next']), 'header always');
  t.same(new Set(await ids('header.test', 10, { 'X-Canary': 'never', Cookie: 'canary=always' })), new Set(['web']), 'header never wins over the cookie');
  t.same(new Set(await ids('header.test', 10, { Cookie: 'a=b; canary=always' })), new Set(['next']), 'cookie always');
  t.same(new Set(await ids('header.test', 10, { 'X-Canary': 'maybe' })), new Set(['web']), 'another header value falls through to weight 0');
  t.same(new Set(await ids('value.test', 10, { 'X-Canary': 'blue' })), new Set(['next']), 'the header value');
  t.same(new Set(await ids('value.test', 10, { 'X-Canary': 'never' })), new Set(['next']), 'with a header value, "never" is just another value: weight 100 decides');
  t.same(new Set(await ids('dot.test', 5, { 'X-Version': 'v2.1' })), new Set(['next']), 'a value with a dot');
  t.same(new Set(await ids('dot.test', 5, { 'X-Version': 'v2x1' })), new Set(['web']), 'the dot is not a wildcard');
  t.same(new Set(await ids('dot.test', 5, { 'X-Version': 'V2.1' })), new Set(['web']), 'the value is compared case-sensitively');
});

t.test('the real nginx: cookie affinity keeps a client on its endpoint; hashing by URI', { skip }, async (t) => {
  const backends = [await backend(t, 'a'), await backend(t, 'b'), await backend(t, 'c')];
  const lab = await nginx(
    t,
    [
      ann('sticky', [{ host: 'sticky.test', paths: [['Prefix', '/', 'pool']] }], { affinity: { cookieName: 'route' } }),
      ann('hashed', [{ host: 'hash.test', paths: [['Prefix', '/', 'pool']] }], { upstreamHashBy: '$request_uri' }),
      ingress('plain', [{ host: 'plain.test', paths: [['Prefix', '/', 'pool']] }]),
    ],
    () => backends,
  );
  const first = await get('http', lab.http, 'sticky.test', '/');
  const cookie = String(first.headers['set-cookie']?.[0] ?? '');
  t.match(cookie, /^route=[0-9a-f]{32}; Path=\/; HttpOnly$/, 'the first answer sets the cookie');
  const pinned = seen(first).id;
  const value = cookie.split(';')[0]!;
  const again: string[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await get('http', lab.http, 'sticky.test', '/', { headers: { Cookie: value } });
    again.push(seen(r).id);
    t.equal(r.headers['set-cookie'], undefined, 'a valid cookie is not set again');
  }
  t.same(new Set(again), new Set([pinned]), 'every request with the cookie reaches the same endpoint');
  const fresh = new Set<string>();
  for (let i = 0; i < 12; i++) fresh.add(seen(await get('http', lab.http, 'plain.test', '/')).id);
  t.equal(fresh.size, 3, 'without affinity, round robin over the endpoints');
  const hashed = new Set<string>();
  for (let i = 0; i < 12; i++) hashed.add(seen(await get('http', lab.http, 'hash.test', '/same/uri')).id);
  t.equal(hashed.size, 1, 'one URI, one endpoint');
});

t.test('the real nginx: proxy-body-size, HTTPS and gRPC backends, service-upstream', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-ann-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = makeCert(dir, 'backend', 'backend', 'backend.test');
  const [web, secure, grpc] = [await backend(t, 'web'), await backend(t, 'secure', 'https', { cert: readFileSync(c.certFile, 'utf8'), key: readFileSync(c.keyFile, 'utf8') }), await backend(t, 'grpc', 'h2c')];
  const addrs: Record<string, string> = { web, secure, grpc };
  const served: string[] = [];
  const lab = await nginx(
    t,
    [
      ann('small', [{ host: 'small.test', paths: [['Prefix', '/', 'web']] }], { proxyBodySize: '1k' }),
      ann('https', [{ host: 'secure.test', paths: [['Prefix', '/', 'secure']] }], { backendProtocol: 'HTTPS' }),
      ann('grpc', [{ host: 'grpc.test', paths: [['Prefix', '/', 'grpc']] }], { backendProtocol: 'GRPC' }, { tls: [{ hosts: ['grpc.test'] }] }),
      ann('svc', [{ host: 'svc.test', paths: [['Prefix', '/', 'web']] }], { serviceUpstream: true }),
    ],
    (u) => {
      served.push(upstreamName(u));
      return [addrs[u.backend.service]!];
    },
  );
  t.equal((await get('http', lab.http, 'small.test', '/', { method: 'POST', body: 'x'.repeat(2048) })).status, 413, 'a body over proxy-body-size: 413');
  t.equal((await get('http', lab.http, 'small.test', '/', { method: 'POST', body: 'x'.repeat(512) })).status, 200);
  t.match(seen(await get('http', lab.http, 'secure.test', '/s')), { id: 'secure', proto: 'https' }, 'backend-protocol HTTPS: TLS to the backend');
  const session: ClientHttp2Session = h2connect(`https://127.0.0.1:${lab.https}`, { rejectUnauthorized: false, servername: 'grpc.test' });
  t.teardown(() => session.close());
  const body = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/pkg.Echo/Call', ':authority': 'grpc.test', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve(Buffer.concat(chunks).subarray(5).toString()));
    req.on('error', reject);
    req.end(Buffer.alloc(5));
  });
  t.match(JSON.parse(body), { id: 'grpc', uri: '/pkg.Echo/Call', proto: 'h2' }, 'backend-protocol GRPC: HTTP/2 to the backend, the method as the path');
  t.ok(served.includes('default-web-80-service'), 'service-upstream is its own upstream group');
});

t.test('edge cases: clashing upstream names, empty canaries and mains, affinity before a canary, cookie path, tiny shares', async (t) => {
  const clash = renderNginxConf(
    input([
      ingress('a', [{ host: 'a.test', paths: [['Prefix', '/', 'c']] }], { namespace: 'a-b' }),
      ingress('b', [{ host: 'b.test', paths: [['Prefix', '/', 'b-c']] }], { namespace: 'a' }),
    ]),
  );
  t.equal(clash.match(/^  upstream a-b-c-80(?:-[0-9a-f]+)? \{/gm)?.length, 2, 'two upstreams');
  t.equal(new Set(clash.match(/^  upstream (\S+) \{/gm)).size, 2, 'with different names');

  const canaryPair = (host: string, main: string, next: string, extra: NginxAnnotations = {}) => [
    ann(`${host}-main`, [{ host, paths: [['Prefix', '/p', main]] }], extra),
    ann(`${host}-canary`, [{ host, paths: [['Prefix', '/p', next]] }], { canary: { weight: 50, weightTotal: 100 } }),
  ];
  const conf = renderNginxConf(
    input(
      [...canaryPair('empty-canary.test', 'web', 'empty'), ...canaryPair('empty-main.test', 'empty', 'next'), ...canaryPair('sticky.test', 'web', 'next', { affinity: { cookieName: 'route' } })],
      (u) => (u.backend.service === 'empty' ? [] : [`10.0.0.${u.backend.service.length}:80`]),
    ),
  );
  t.match(location(conf, '"/p/" {\n      # default/empty-canary.test-main'), 'proxy_pass http://default-web-80;', 'a canary without endpoints takes nothing (ingress-nginx drops it)');
  t.match(location(conf, '"/p/" {\n      # default/empty-main.test-main'), 'proxy_pass http://default-empty-80;', 'a main without endpoints answers 503 to all, canary or not');
  t.match(conf, /map \$cookie_route \$netlab_canary_pinned_\d+ \{\n\s*[0-9a-f]{32} 0;/, 'a valid affinity cookie keeps the request off the canary');
  t.match(conf, /Path=\/p; HttpOnly/, 'the cookie path is the Ingress path as written');
  const servers = planServers(canaryPair('tiny.test', 'web', 'next').map((i) => (i.annotations?.canary ? { ...i, annotations: { canary: { weight: 1, weightTotal: 1_000_000 } } } : i)));
  t.match(routeRequest(servers, { scheme: 'http', host: 'tiny.test', target: '/p' }), { kind: 'proxy', canary: 'no' }, 'a share below 0.01% is none');
  t.notMatch(renderNginxConf(input(canaryPair('tiny.test', 'web', 'next').map((i) => (i.annotations?.canary ? { ...i, annotations: { canary: { weight: 1, weightTotal: 1_000_000 } } } : i)))), 'split_clients', 'and renders no 0% split');
});

t.test('routeRequest: the Cookie header, the body limit before redirects, app-root before the location', async (t) => {
  const servers = planServers([
    ingress('main', [{ host: 'c.test', paths: [['Prefix', '/', 'web']] }]),
    ann('canary', [{ host: 'c.test', paths: [['Prefix', '/', 'next']] }], { canary: { weight: 0, weightTotal: 100, cookie: 'beta' } }),
    ann('small', [{ host: 's.test', paths: [['Prefix', '/', 'web']] }], { proxyBodySize: '1k', forceSslRedirect: true }),
    ingress('api', [{ host: 'r.test', paths: [['Prefix', '/', 'web']] }]),
    ann('app', [{ host: 'r.test', paths: [['Prefix', '/app', 'web']] }], { appRoot: '/app/home' }),
  ]);
  t.match(routeRequest(servers, { scheme: 'http', host: 'c.test', target: '/', headers: { Cookie: 'a=1; beta=always' } }), { kind: 'proxy', canary: 'yes' });
  t.match(routeRequest(servers, { scheme: 'http', host: 's.test', target: '/', bodyBytes: 4096 }), { kind: 'nginx', status: 413 }, '413 before the redirect');
  t.match(routeRequest(servers, { scheme: 'http', host: 'r.test', target: '/' }), { kind: 'redirect', status: 302, location: 'http://r.test/app/home' }, "another Ingress's app-root applies to the whole host");
});
