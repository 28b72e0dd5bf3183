/**
 * The rendered nginx.conf: a few text checks, then the real nginx on
 * loopback ports routing every request of the matcher's table, over HTTP
 * and HTTPS, to the backend the matcher names (or 404 / 503), serving the
 * right certificate per SNI and redirecting plain HTTP for TLS hosts.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { matchIngress, requestHost } from '../../../../dist/components/ingress-nginx/match.js';
import { renderNginxConf, type NginxConfInput } from '../../../../dist/components/ingress-nginx/nginx-conf.js';
import type { IngressBackendSpec } from '../../../../dist/spec/ingress.js';
import { answer, ingress, MISSING, SCENARIOS, TLS_HOSTS, type Answer } from '../../../fixtures/ingress/cases.js';
import { freePort, get, makeCert, NGINX, startNginx, type Reply } from '../../../helpers/nginx-loopback.js';
const FAKE_CN = 'Kubernetes Ingress Controller Fake Certificate';

const backendId = (namespace: string, b: IngressBackendSpec) => `${namespace}/${b.service}:${'number' in b.port ? b.port.number : b.port.name}`;
const one = (addr: string | undefined) => (addr === undefined ? undefined : [addr]);

function baseInput(overrides: Partial<NginxConfInput> = {}): NginxConfInput {
  return {
    ingresses: [],
    upstream: (u) => (u.backend.service === MISSING ? undefined : [`10.0.0.1:${u.backend.service.length}`]),
    cert: (ns, tls) => ({ certFile: `/certs/${ns}/${tls.secretName}.crt`, keyFile: `/certs/${ns}/${tls.secretName}.key` }),
    defaultCert: { certFile: '/certs/fake.crt', keyFile: '/certs/fake.key' },
    listen: { http: 80, https: 443, health: 10254, internal: 8181 },
    files: { prefix: '/run/lab/nginx/', pid: '/run/lab/nginx.pid', errorLog: '/run/lab/nginx.log' },
    ...overrides,
  };
}

t.test('the rendered text', async (t) => {
  const conf = renderNginxConf(
    baseInput({
      ingresses: [
        ingress(
          'a',
          [
            { host: 'shop.test', paths: [['Prefix', '/foo', 'prefix'], ['Exact', '/foo', 'exact'], ['Prefix', '/', 'root']] },
            { host: '*.wild.test', paths: [['Exact', '/x', MISSING]] },
            { paths: [['Prefix', '/h/', 'hostless']] },
          ],
          { tls: [{ hosts: ['shop.test'], secretName: 'shop-tls' }] },
        ),
      ],
    }),
  );
  const lines = conf.split('\n').map((l) => l.trim());
  for (const line of [
    'daemon off;',
    'worker_processes 1;',
    'pid "/run/lab/nginx.pid";',
    'error_log "/run/lab/nginx.log" warn;',
    'access_log off;',
    'server_names_hash_bucket_size 128;',
    'client_body_temp_path "/run/lab/nginx/client_body";',
    'proxy_temp_path "/run/lab/nginx/proxy";',
    'ssl_certificate "/certs/fake.crt";',
    'proxy_set_header Host $host;',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Host $host;',
    'listen 80 default_server;',
    'listen 443 ssl http2 default_server;',
    'server_name _;',
    'server_name shop.test;',
    'server_name ~^[^.]+\\.wild\\.test$;',
    'return 308 https://$host$netlab_redirect_uri;',
    'upstream default-exact-80 {',
    'server 10.0.0.1:5;',
    'ssl_certificate "/certs/default/shop-tls.crt";',
    'location = "/foo" {',
    'location "/foo/" {',
    'location "/" {',
    'location = "/h" {',
    'location "/h/" {',
    'location = /healthz {',
    'return 200 "ok";',
    'listen 10254;',
    'return 503;',
    'return 404;',
  ]) {
    t.ok(lines.includes(line), line);
  }
  t.notMatch(conf, /include/, 'nothing from /etc/nginx');
  const exactFoo = conf.slice(conf.indexOf('location = "/foo" {'));
  t.match(exactFoo.slice(0, exactFoo.indexOf('location', 1)), 'proxy_pass http://default-exact-80;', 'the Exact rule holds = /foo (service "exact")');
  const prefixFoo = conf.slice(conf.indexOf('location "/foo/" {'));
  t.match(prefixFoo.slice(0, prefixFoo.indexOf('location', 1)), 'proxy_pass http://default-prefix-80;', 'the Prefix rule holds /foo/ (service "prefix")');
  t.equal(conf.match(/location = "\/foo"/g)?.length, 1, 'one location per key');
  t.equal(conf.match(/server_name shop\.test;/g)?.length, 1, 'a TLS host: one server for HTTP and HTTPS');
  t.match(conf, /upstream default-missing-80 \{\n[^}]*server 127\.0\.0\.1:8181;/, 'a missing backend: the internal 503 server');
});

t.test('listen address, access log and worker count when given', async (t) => {
  const conf = renderNginxConf(baseInput({ listen: { address: '10.1.2.3', http: 8080, https: 8443, health: 9000, internal: 8181 }, files: { prefix: '/p', pid: '/p/pid', errorLog: '/p/err', accessLog: '/p/access' }, workerProcesses: 2 }));
  t.match(conf, 'listen 10.1.2.3:8080 default_server;');
  t.match(conf, 'listen 10.1.2.3:8443 ssl http2 default_server;');
  t.match(conf, 'listen 10.1.2.3:9000;');
  t.match(conf, 'access_log "/p/access";');
  t.match(conf, 'worker_processes 2;');
  t.match(conf, /location "\/" \{\n\s*# no rule and no default backend: 404\n\s*return 404;/, 'no Ingress: everything is 404');
});

t.test('a default backend takes what no location does', async (t) => {
  const conf = renderNginxConf(baseInput({ ingresses: [ingress('d', [], { defaultBackend: 'dflt' })] }));
  t.match(conf, /location "\/" \{\n\s*# no rule: the default backend\n\s*proxy_pass http:\/\/default-dflt-80;/);
  t.match(conf, /upstream default-dflt-80 \{\n[^}]*server 10\.0\.0\.1:4;/);
});

// ---------------------------------------------------------------------------
// The real nginx




/** What nginx should answer for a matcher answer: the backend's id, 503 where the lab has no address, else 404. */
function expected(a: Answer, namespace = 'default'): string | number {
  if (a === 404) return 404;
  if (a === MISSING) return 503;
  return `${namespace}/${a}:80`;
}

function seen(r: Reply): string | number {
  return r.status === 200 ? r.body : r.status;
}

/** One loopback HTTP server per backend, answering its id and echoing the forwarded headers. */
async function startBackends(t: Test, ids: string[]): Promise<Map<string, string>> {
  const addrs = new Map<string, string>();
  const servers: Server[] = [];
  t.teardown(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  for (const id of ids) {
    const s = createHttpServer((req, res) => {
      res.setHeader('x-got-host', req.headers.host ?? '');
      res.setHeader('x-got-proto', String(req.headers['x-forwarded-proto'] ?? ''));
      res.setHeader('x-got-forwarded-for', String(req.headers['x-forwarded-for'] ?? ''));
      res.setHeader('x-got-forwarded-host', String(req.headers['x-forwarded-host'] ?? ''));
      res.end(id);
    });
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    addrs.set(id, `127.0.0.1:${(s.address() as { port: number }).port}`);
  }
  return addrs;
}




t.test('the real nginx routes as the matcher says', { skip: existsSync(NGINX) ? false : `${NGINX} is not installed` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-nginx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certs = {
    fake: makeCert(dir, 'fake', FAKE_CN, 'ingress.local'),
    'secure-tls': makeCert(dir, 'secure', 'secure.test', 'secure.test'),
    'wild-tls': makeCert(dir, 'wild', '*.wild-secure.test', '*.wild-secure.test'),
  };
  const ids = new Set(SCENARIOS.flatMap((s) => s.ingresses.flatMap((i) => [...(i.defaultBackend ? [i.defaultBackend] : []), ...i.rules.flatMap((r) => r.paths.map((p) => p.backend))]).map((b) => backendId('default', b))));
  const backends = await startBackends(t, [...ids]);

  for (const scenario of SCENARIOS) {
    await t.test(scenario.name, async (t) => {
      const [http, https, health] = [await freePort(), await freePort(), await freePort()];
      const conf = renderNginxConf({
        ingresses: scenario.ingresses,
        upstream: (u) => (u.backend.service === MISSING ? undefined : one(backends.get(backendId(u.namespace, u.backend)))),
        cert: (_ns, tls) => certs[tls.secretName as keyof typeof certs],
        defaultCert: certs.fake,
        listen: { address: '127.0.0.1', http, https, health, internal: await freePort() },
        files: { prefix: dir, pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log') },
      });
      await startNginx(t, dir, conf, health);

      for (const c of scenario.cases) {
        const want = expected(answer(matchIngress(scenario.ingresses, c)));
        const tlsHost = TLS_HOSTS[requestHost(c.host)];
        const plain = await get('http', http, c.host, c.path);
        t.equal(seen(plain), tlsHost ? 308 : want, `http ${c.host}${c.path}`);
        // ingress-nginx drops a trailing '/' from the redirect (preserve-trailing-slash is off by default).
        if (tlsHost) t.equal(plain.headers.location, `https://${requestHost(c.host)}${c.path.replace(/\/$/, '')}`, `http ${c.host}${c.path} redirects to https`);
        const secure = await get('https', https, c.host, c.path);
        t.equal(seen(secure), want, `https ${c.host}${c.path}`);
        t.equal(secure.cn, tlsHost ?? FAKE_CN, `https ${c.host}${c.path}: certificate`);
      }
    });
  }
});

t.test('the real nginx forwards the client headers and answers health checks', { skip: existsSync(NGINX) ? false : `${NGINX} is not installed` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-nginx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = makeCert(dir, 'fake', FAKE_CN, 'ingress.local');
  const backends = await startBackends(t, ['default/web:80']);
  const [http, https, health] = [await freePort(), await freePort(), await freePort()];
  const conf = renderNginxConf({
    ingresses: [ingress('web', [{ host: 'web.test', paths: [['Prefix', '/', 'web']] }])],
    upstream: (u) => one(backends.get(backendId(u.namespace, u.backend))),
    cert: () => fake,
    defaultCert: fake,
    listen: { address: '127.0.0.1', http, https, health, internal: await freePort() },
    files: { prefix: dir, pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log'), accessLog: join(dir, 'access.log') },
  });
  await startNginx(t, dir, conf, health);
  const r = await get('https', https, 'Web.test:8443', '/a?b=c');
  t.equal(r.body, 'default/web:80');
  t.same(
    [r.headers['x-got-host'], r.headers['x-got-proto'], r.headers['x-got-forwarded-for'], r.headers['x-got-forwarded-host']],
    ['web.test', 'https', '127.0.0.1', 'web.test'],
  );
  t.same([(await get('http', health, 'x', '/healthz')).body, (await get('http', health, 'x', '/other')).status], ['ok', 404]);
  t.ok(existsSync(join(dir, 'access.log')), 'the access log goes where asked');
});
