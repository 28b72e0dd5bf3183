/**
 * The rendered nginx.conf: a few text checks, then the real nginx on
 * loopback ports routing every request of the matcher's table, over HTTP
 * and HTTPS, to the backend the matcher names (or 404 / 503), serving the
 * right certificate per SNI and redirecting plain HTTP for TLS hosts.
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { matchIngress, requestHost } from '../../../src/ingress/match.js';
import { renderNginxConf, type NginxCert, type NginxConfInput } from '../../../src/ingress/nginx-conf.js';
import type { IngressBackendSpec } from '../../../src/model/ingress.js';
import { answer, ingress, MISSING, SCENARIOS, TLS_HOSTS, type Answer } from '../../fixtures/ingress/cases.js';

const NGINX = '/usr/sbin/nginx';
const FAKE_CN = 'Kubernetes Ingress Controller Fake Certificate';

const backendId = (namespace: string, b: IngressBackendSpec) => `${namespace}/${b.service}:${'number' in b.port ? b.port.number : b.port.name}`;

function baseInput(overrides: Partial<NginxConfInput> = {}): NginxConfInput {
  return {
    ingresses: [],
    backend: (ns, b) => (b.service === MISSING ? undefined : `10.0.0.1:${b.service.length}`),
    cert: (ns, tls) => ({ certFile: `/certs/${ns}/${tls.secretName}.crt`, keyFile: `/certs/${ns}/${tls.secretName}.key` }),
    defaultCert: { certFile: '/certs/fake.crt', keyFile: '/certs/fake.key' },
    listen: { http: 80, https: 443, health: 10254 },
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
    'listen 443 ssl default_server;',
    'server_name _;',
    'server_name shop.test;',
    'server_name ~^[^.]+\\.wild\\.test$;',
    'return 308 https://$host$request_uri;',
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
  t.match(exactFoo.slice(0, exactFoo.indexOf('}')), 'proxy_pass http://10.0.0.1:5;', 'the Exact rule holds = /foo (service "exact")');
  const prefixFoo = conf.slice(conf.indexOf('location "/foo/" {'));
  t.match(prefixFoo.slice(0, prefixFoo.indexOf('}')), 'proxy_pass http://10.0.0.1:6;', 'the Prefix rule holds /foo/ (service "prefix")');
  t.equal(conf.match(/location = "\/foo"/g)?.length, 1, 'one location per key');
  t.equal(conf.match(/server_name shop\.test;/g)?.length, 2, 'a TLS host: a redirecting HTTP server and an HTTPS server');
});

t.test('listen address, access log and worker count when given', async (t) => {
  const conf = renderNginxConf(baseInput({ listen: { address: '10.1.2.3', http: 8080, https: 8443, health: 9000 }, files: { prefix: '/p', pid: '/p/pid', errorLog: '/p/err', accessLog: '/p/access' }, workerProcesses: 2 }));
  t.match(conf, 'listen 10.1.2.3:8080 default_server;');
  t.match(conf, 'listen 10.1.2.3:8443 ssl default_server;');
  t.match(conf, 'listen 10.1.2.3:9000;');
  t.match(conf, 'access_log "/p/access";');
  t.match(conf, 'worker_processes 2;');
  t.match(conf, /location \/ \{\n\s*return 404;/, 'no Ingress: everything is 404');
});

t.test('a default backend takes what no location does', async (t) => {
  const conf = renderNginxConf(baseInput({ ingresses: [ingress('d', [], { defaultBackend: 'dflt' })] }));
  t.match(conf, /location \/ \{\n\s*proxy_pass http:\/\/10\.0\.0\.1:4;/);
});

// ---------------------------------------------------------------------------
// The real nginx

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Reply {
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
  cn?: string;
}

function get(scheme: 'http' | 'https', port: number, host: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const name = requestHost(host);
    const opts = { host: '127.0.0.1', port, path, headers: { host }, agent: false as const, timeout: 5000 };
    const tls = { rejectUnauthorized: false, ...(isIP(name) ? {} : { servername: name }) };
    const req = scheme === 'http' ? httpRequest(opts) : httpsRequest({ ...opts, ...tls });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const subject = scheme === 'https' ? (res.socket as TLSSocket).getPeerCertificate().subject?.CN : undefined;
      const cn = Array.isArray(subject) ? subject.join(',') : subject;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers, ...(cn !== undefined ? { cn } : {}) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${scheme}://${host}${path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

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

function makeCert(dir: string, name: string, cn: string, san: string): NginxCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${san}`, '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
  return { certFile, keyFile };
}

async function waitHealthy(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}:\n${log()}`);
    try {
      const r = await get('http', port, 'health', '/healthz');
      if (r.status === 200 && r.body === 'ok') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not answer /healthz:\n${log()}`);
}

/** Starts nginx on `conf`; stopped (and waited for) at teardown whatever the assertions did. */
async function startNginx(t: Test, dir: string, conf: string, healthPort: number): Promise<void> {
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  execFileSync(NGINX, ['-t', '-q', '-c', file, '-p', dir], { stdio: 'pipe' });
  let stderr = '';
  const proc = spawn(NGINX, ['-c', file, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  t.teardown(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  await waitHealthy(healthPort, proc, () => `${stderr}${existsSync(join(dir, 'error.log')) ? execFileSync('cat', [join(dir, 'error.log')]).toString() : ''}`);
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
        backend: (ns, b) => (b.service === MISSING ? undefined : backends.get(backendId(ns, b))),
        cert: (_ns, tls) => certs[tls.secretName as keyof typeof certs],
        defaultCert: certs.fake,
        listen: { address: '127.0.0.1', http, https, health },
        files: { prefix: dir, pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log') },
      });
      await startNginx(t, dir, conf, health);

      for (const c of scenario.cases) {
        const want = expected(answer(matchIngress(scenario.ingresses, c)));
        const tlsHost = TLS_HOSTS[requestHost(c.host)];
        const plain = await get('http', http, c.host, c.path);
        t.equal(seen(plain), tlsHost ? 308 : want, `http ${c.host}${c.path}`);
        if (tlsHost) t.equal(plain.headers.location, `https://${requestHost(c.host)}${c.path}`, `http ${c.host}${c.path} redirects to https`);
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
    backend: (ns, b) => backends.get(backendId(ns, b)),
    cert: () => fake,
    defaultCert: fake,
    listen: { address: '127.0.0.1', http, https, health },
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
