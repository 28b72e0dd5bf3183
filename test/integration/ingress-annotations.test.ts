/**
 * ingress-nginx's annotations from the external client, through the cloud
 * load balancer, on real namespaces (iptables mode, host-gw): the upstream
 * conformance host-rules scenario with ssl-redirect off, rewrite-target,
 * redirects, app-root, force-ssl-redirect, allowlists, canary by weight and
 * header (and header value), cookie affinity, hashing, proxy-body-size,
 * HTTPS and gRPC backends, endpoint upstreams against service-upstream,
 * `verify` following all of it, the notices for annotations the lab does
 * not model, and a readiness flip and a `scale` under a request stream
 * losing nothing. The lab is removed even when a check fails.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cli, isRoot, labName, tempDir, writeLab } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { leftovers, rootSnapshot } from '../helpers/host.js';

const STREAM = join(ROOT, 'dist/bench/request-stream.js');
const P = 'nginx.ingress.kubernetes.io';

/** An Ingress of one host and one path to `service`, with `annotations` (already YAML-quoted values). */
function ing(name: string, host: string, service: string, annotations: Record<string, string> = {}, extra: { path?: string; pathType?: string; tls?: boolean } = {}): string {
  const ann = Object.entries(annotations).map(([k, v]) => `    ${k}: ${v}`);
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
${ann.length ? `  annotations:\n${ann.join('\n')}\n` : ''}spec:
  ingressClassName: nginx
${extra.tls ? `  tls: [{hosts: [${host}]}]\n` : ''}  rules:
    - host: ${host}
      http:
        paths:
          - {path: ${JSON.stringify(extra.path ?? '/')}, pathType: ${extra.pathType ?? 'Prefix'}, backend: {service: {name: ${service}, port: {number: 80}}}}`;
}

function lab(name: string): string {
  const deployment = (app: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${app}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}}}
    spec:
      containers:
        - name: ${app}
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1}`;
  const service = (app: string) => `apiVersion: v1
kind: Service
metadata: {name: ${app}}
spec:
  selector: {app: ${app}}
  ports: [{name: http, port: 80, targetPort: http}]`;
  return [
    `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${name}}
spec:
  podNetwork: {backend: host-gw}
  external: {cidr: 203.0.113.0/24}`,
    deployment('web', 3),
    service('web'),
    deployment('next', 1),
    service('next'),
    // The ingress-controller-conformance host-rules scenario: TLS for foo.bar.com, plain HTTP still served.
    ing('host-rules', 'foo.bar.com', 'web', { [`${P}/ssl-redirect`]: '"false"' }, { tls: true }),
    ing('rewrite', 'rw.test', 'web', { [`${P}/use-regex`]: '"true"', [`${P}/rewrite-target`]: '/$2' }, { path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific' }),
    ing('perm', 'perm.test', 'web', { [`${P}/permanent-redirect`]: 'https://www.example.com$request_uri' }),
    ing('temp', 'temp.test', 'web', { [`${P}/temporal-redirect`]: 'https://www.example.com/moved', [`${P}/temporal-redirect-code`]: '"307"' }),
    ing('root', 'root.test', 'web', { [`${P}/app-root`]: '/app1' }),
    ing('force', 'force.test', 'web', { [`${P}/force-ssl-redirect`]: '"true"' }),
    ing('allowed', 'allowed.test', 'web', { [`${P}/allowlist-source-range`]: '203.0.113.0/24' }),
    ing('closed', 'closed.test', 'web', { [`${P}/whitelist-source-range`]: '198.51.100.0/24' }),
    ing('canary-main', 'canary.test', 'web'),
    ing('canary', 'canary.test', 'next', { [`${P}/canary`]: '"true"', [`${P}/canary-weight`]: '"0"', [`${P}/canary-by-header`]: 'X-Canary', [`${P}/canary-by-cookie`]: 'canary' }),
    ing('value-main', 'value.test', 'web'),
    ing('value-canary', 'value.test', 'next', { [`${P}/canary`]: '"true"', [`${P}/canary-by-header`]: 'X-Env', [`${P}/canary-by-header-value`]: 'staging' }),
    ing('all-main', 'all.test', 'web'),
    ing('all-canary', 'all.test', 'next', { [`${P}/canary`]: '"true"', [`${P}/canary-weight`]: '"100"' }),
    ing('sticky', 'sticky.test', 'web', { [`${P}/affinity`]: 'cookie', [`${P}/session-cookie-name`]: 'route' }),
    ing('hash', 'hash.test', 'web', { [`${P}/upstream-hash-by`]: '$request_uri' }),
    ing('small', 'small.test', 'web', { [`${P}/proxy-body-size`]: '1k' }),
    ing('secure', 'secure.test', 'web', { [`${P}/backend-protocol`]: 'HTTPS' }),
    ing('grpc', 'grpc.test', 'web', { [`${P}/backend-protocol`]: 'GRPC' }, { tls: true }),
    ing('svc', 'svc.test', 'web', { [`${P}/service-upstream`]: '"true"' }),
    ing('stream', 'stream.test', 'web', { [`${P}/proxy-read-timeout`]: '"120"', 'traefik.ingress.kubernetes.io/router.entrypoints': 'web' }),
  ].join('\n---\n');
}

interface Answer {
  pod?: string;
  request?: { target?: string; host?: string; tls?: boolean; protocol?: string };
}

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  t.test('ingress-nginx annotations, from the outside in', async (t) => {
    const name = labName('ann');
    const dir = tempDir();
    const before = rootSnapshot();
    t.teardown(() => {
      cli(['down', '--name', name]);
    });
    const file = writeLab(dir, name, lab(name));
    const up = cli(['up', '-f', file]);
    t.equal(up.code, 0, up.stderr);
    const text = readFileSync(file, 'utf8');
    const lineOf = (needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;
    const out = up.stdout + up.stderr;
    t.match(out, `Ingress default/stream at ${file}:${lineOf('proxy-read-timeout')}: not modelled by the lab: ${P}/proxy-read-timeout`, 'an annotation the lab does not model: a notice at its line');
    t.match(out, `Ingress default/stream at ${file}:${lineOf('traefik.ingress')}: annotations of another ingress controller, which the lab's ingress-nginx does not read: traefik.ingress.kubernetes.io/router.entrypoints`);

    const svc = cli(['get', 'svc', '--name', name, '-n', 'ingress-nginx']).stdout;
    const ip = /^ingress-nginx-controller\s+LoadBalancer\s+\S+\s+(\d+\.\d+\.\d+\.\d+)/m.exec(svc)?.[1] ?? '';
    t.match(ip, /^203\.0\.113\./, `the ingress's load-balancer IP (${svc})`);
    const ca = `/run/kube-netlab/${name}/ingress/ca.crt`;
    // Straight into the external client's namespace (what `exec external` does, without a CLI process per request).
    const ext = (...cmd: string[]) => {
      const r = spawnSync('ip', ['netns', 'exec', `${name}.ext.external`, ...cmd], { encoding: 'utf8' });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const curl = (url: string, ...args: string[]) => {
      const host = new URL(url).hostname;
      const port = url.startsWith('https') ? 443 : 80;
      const r = ext('curl', '-sS', '--max-time', '3', '--resolve', `${host}:${port}:${ip}`, '--cacert', ca, '-w', '\n%{http_code} %header{location}', ...args, url);
      const lines = r.stdout.trimEnd().split('\n');
      const [code, location] = (lines.pop() ?? '').split(' ');
      const body = lines.join('\n');
      let answer: Answer = {};
      try {
        answer = JSON.parse(body.slice(Math.max(0, body.indexOf('{')))) as Answer;
      } catch {
        // nginx's own page
      }
      return { status: Number(code), location: location ?? '', answer, stderr: r.stderr };
    };

    t.test('the conformance host-rules scenario: ssl-redirect "false" serves plain HTTP, the backend sees the host', async (t) => {
      const plain = curl('http://foo.bar.com/');
      t.equal(plain.status, 200, plain.stderr);
      t.equal(plain.answer.request?.host, 'foo.bar.com');
      t.match(plain.answer.pod, /^web-/);
      t.equal(curl('https://foo.bar.com/').status, 200, 'HTTPS with the lab-signed certificate');
    });

    t.test('rewrite-target with capture groups', async (t) => {
      t.equal(curl('http://rw.test/something/new?x=1').answer.request?.target, '/new?x=1');
      const bare = curl('http://rw.test/something');
      t.same([bare.status, bare.answer.request?.target], [200, '/'], 'the bare prefix reaches / (the identity page)');
    });

    t.test('redirects with their codes', async (t) => {
      t.same(curl('http://perm.test/a?b=1'), { status: 301, location: 'https://www.example.com/a?b=1', answer: {}, stderr: '' });
      t.match(curl('http://temp.test/x'), { status: 307, location: 'https://www.example.com/moved' });
      t.match(curl('http://root.test/'), { status: 302, location: 'http://root.test/app1' }, 'app-root');
      t.match(curl('http://root.test/app1'), { status: 404, answer: { request: { target: '/app1' } } }, 'the app root itself is proxied');
      t.match(curl('http://force.test/p/'), { status: 308, location: 'https://force.test/p' }, 'force-ssl-redirect without a certificate; the trailing / is dropped as ingress-nginx does');
    });

    t.test('allowlists: the client address as the controller sees it', async (t) => {
      t.equal(curl('http://allowed.test/').status, 200);
      t.equal(curl('http://closed.test/').status, 403);
    });

    /** The pods answering `n` requests on one curl (`cookies`: later requests send what earlier answers set). */
    const podsOf = (url: string, n: number, args: string[] = []) => {
      const host = new URL(url).hostname;
      const r = ext('curl', '-sS', '--max-time', '3', '--resolve', `${host}:80:${ip}`, ...args, '-w', '\n', ...Array.from({ length: n }, () => url));
      return r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as Answer).pod ?? '?');
    };
    const apps = (pods: string[]) => new Set(pods.map((p) => p.replace(/-[^-]+$/, '')));

    t.test('canary: weight 0 and 100, by header and by cookie', async (t) => {
      t.same(apps(podsOf('http://canary.test/', 10)), new Set(['web']), 'weight 0: never the canary');
      t.same(apps(podsOf('http://canary.test/', 5, ['-H', 'X-Canary: always'])), new Set(['next']), 'X-Canary: always');
      t.same(apps(podsOf('http://canary.test/', 5, ['-b', 'canary=always'])), new Set(['next']), 'the canary cookie');
      t.same(apps(podsOf('http://canary.test/', 5, ['-H', 'X-Canary: never', '-b', 'canary=always'])), new Set(['web']), 'the header decides before the cookie');
      t.same(apps(podsOf('http://all.test/', 10)), new Set(['next']), 'weight 100: always the canary');
    });

    t.test('canary-by-header-value: that value of the header reaches the canary, another does not', async (t) => {
      t.same(apps(podsOf('http://value.test/', 5, ['-H', 'X-Env: staging'])), new Set(['next']), 'X-Env: staging');
      t.same(apps(podsOf('http://value.test/', 5, ['-H', 'X-Env: production'])), new Set(['web']), 'X-Env: production');
      t.same(apps(podsOf('http://value.test/', 5, ['-H', 'X-Env: always'])), new Set(['web']), '"always" is only a value like any other once a value is set');
      t.same(apps(podsOf('http://value.test/', 5)), new Set(['web']), 'without the header (weight 0)');
    });

    t.test('affinity cookie keeps one pod; upstream-hash-by one URI on one pod', async (t) => {
      const sticky = podsOf('http://sticky.test/', 6, ['-b', '']);
      t.equal(sticky.length, 6);
      t.equal(new Set(sticky).size, 1, `one pod for the session: ${sticky.join(', ')}`);
      t.equal(new Set(podsOf('http://sticky.test/', 9)).size, 3, 'without the cookie, round robin over the three');
      t.equal(new Set(podsOf('http://hash.test/same', 6)).size, 1);
    });

    t.test('proxy-body-size, HTTPS and gRPC backends', async (t) => {
      t.equal(curl('http://small.test/', '--data-binary', 'x'.repeat(2000)).status, 413);
      t.equal(curl('http://small.test/', '--data-binary', 'x'.repeat(500)).status, 200);
      t.match(curl('http://secure.test/').answer, { request: { tls: true } }, 'TLS from nginx to the pod');
      const grpc = ext('sh', '-c', `head -c 5 /dev/zero | curl -sS --http2 --max-time 3 --resolve grpc.test:443:${ip} --cacert ${ca} -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- https://grpc.test/pkg.Echo/Call`);
      const body = grpc.stdout.slice(grpc.stdout.indexOf('{'));
      t.match(JSON.parse(body || '{}'), { request: { target: '/pkg.Echo/Call', protocol: 'h2' } }, `gRPC over HTTP/2 to the pod (${grpc.stderr})`);
    });

    t.test('endpoint upstreams by default, the ClusterIP with service-upstream', async (t) => {
      const conf = readFileSync(`/run/kube-netlab/${name}/ingress/ingress-nginx-${cli(['get', 'pods', '--name', name, '-n', 'ingress-nginx', '-o', 'json']).stdout.match(/ingress-nginx-controller-[a-z0-9-]+/)![0]}/nginx.conf`, 'utf8');
      const block = (n: string) => conf.slice(conf.indexOf(`upstream ${n} {`), conf.indexOf('}', conf.indexOf(`upstream ${n} {`)));
      t.match(block('default-web-80'), /(server 10\.244\.\d+\.\d+:8080;[\s\S]*){3}/, 'three pod endpoints');
      t.match(block('default-web-80-service'), /server 10\.96\.\d+\.\d+:80;/, 'service-upstream: the ClusterIP');
      t.equal(curl('http://svc.test/').status, 200);
    });

    t.test('verify follows the annotations', async (t) => {
      const v = cli(['verify', '--name', name, '--only', 'P8']);
      t.equal(v.code, 0, v.stdout.split('\n').filter((l) => !l.startsWith('PASS')).join('\n'));
      t.match(v.stdout, /P8 external -> ingress \S+ http:\/\/rw\.test\/something: .*rewritten to \//);
      t.match(v.stdout, /P8 external -> ingress \S+ http:\/\/closed\.test\/: not in allowlist-source-range 198\.51\.100\.0\/24: 403 from nginx/);
      t.match(v.stdout, /P8 external -> ingress \S+ http:\/\/canary\.test\/ X-Canary: always: .*\(canary\)/);
      t.match(v.stdout, /P8 external -> ingress \S+ http:\/\/sticky\.test\/: .*cookie route keeps one pod/);
    });

    t.test('readiness and scale under a request stream: endpoints leave nginx before their pods stop; nothing is lost', async (t) => {
      // Streams one after another until the changes are done, whatever they take: a shell loop in the client's namespace, so the
      // next stream starts at once even while this process waits for a CLI command. Each prints one JSON line.
      const stop = join(dir, 'stream.stop');
      const stream = spawn('ip', ['netns', 'exec', `${name}.ext.external`, 'sh', '-c', 'stop=$1; shift; while [ ! -e "$stop" ]; do "$@" || exit 1; done', 'sh', stop, process.execPath, STREAM, `http://${ip}/`, '2000', '20', '2000', 'stream.test']);
      let outText = '';
      stream.stdout.on('data', (c: Buffer) => (outText += c.toString()));
      const done = new Promise<number | null>((resolve) => stream.once('close', (code) => resolve(code)));
      t.teardown(() => {
        if (!existsSync(stop)) writeFileSync(stop, '');
      });
      await new Promise((r) => setTimeout(r, 1000));

      // A web pod fails its readiness probe: its IP leaves the endpoint upstream of every controller's nginx.conf.
      const podsJson = (ns: string) => (JSON.parse(cli(['get', 'pods', '--name', name, '-n', ns, '-o', 'json']).stdout) as { items: { metadata: { name: string }; status: { podIP?: string } }[] }).items;
      const controllers = podsJson('ingress-nginx').map((p) => p.metadata.name).filter((n) => n.startsWith('ingress-nginx-controller-'));
      t.equal(controllers.length, 2, 'two controller pods');
      const webUpstream = (controller: string) => {
        const conf = readFileSync(`/run/kube-netlab/${name}/ingress/ingress-nginx-${controller}/nginx.conf`, 'utf8');
        const start = conf.indexOf('upstream default-web-80 {');
        return start < 0 ? '' : conf.slice(start, conf.indexOf('}', start));
      };
      const inUpstream = (podIP: string) => controllers.map((c) => webUpstream(c).includes(`server ${podIP}:8080;`));
      const flipped = podsJson('default').find((p) => p.metadata.name.startsWith('web-'))!;
      const podIP = flipped.status.podIP ?? '';
      t.same(inUpstream(podIP), [true, true], `${flipped.metadata.name} (${podIP}) is an upstream server while ready`);
      const flip = (state: string) => cli(['exec', '--name', name, `default/${flipped.metadata.name}`, '--', 'curl', '-sS', '-X', 'POST', `localhost:8080/ready?state=${state}`]);
      t.equal(flip('false').code, 0);
      const without = () => controllers.every((c) => webUpstream(c).includes('server ') && !webUpstream(c).includes(`server ${podIP}:8080;`));
      t.ok(await eventually(without, { timeout: 15_000, every: 100 }), `${podIP} leaves upstream default-web-80 of every controller`);
      t.same(controllers.map((c) => webUpstream(c).match(/server \S+;/g)?.length), [2, 2], 'the two ready pods stay');
      t.equal(flip('true').code, 0);
      t.ok(await eventually(() => inUpstream(podIP).every((x) => x), { timeout: 15_000, every: 100 }), `${podIP} is back once its probe passes`);

      const down = cli(['scale', '--name', name, 'deploy/web', '--replicas', '1']);
      t.equal(down.code, 0, down.stderr);
      const upAgain = cli(['scale', '--name', name, 'deploy/web', '--replicas', '3']);
      t.equal(upAgain.code, 0, upAgain.stderr);
      t.ok(await eventually(() => controllers.every((c) => webUpstream(c).match(/server \S+;/g)?.length === 3), { timeout: 15_000, every: 100 }), 'the new replicas join the upstream once their probes pass');
      writeFileSync(stop, '');
      t.equal(await done, 0, 'every stream ran to its end');
      const results = outText
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { sent: number; failures: unknown[] });
      const sent = results.reduce((n, r) => n + r.sent, 0);
      // How many were sent depends on how long the changes took; what matters is that streams ran throughout.
      t.ok(results.length > 0 && results.every((r) => r.sent > 0), `${sent} requests sent in ${results.length} streams, each of them sending`);
      t.same(
        results.flatMap((r) => r.failures),
        [],
        'no request lost while a pod went unready and back, and pods left and joined',
      );
    });

    t.test('down leaves nothing behind', async (t) => {
      t.equal(cli(['down', '--name', name]).code, 0);
      t.same(leftovers(name), []);
      t.same(rootSnapshot(), before, 'the root namespace is unchanged');
    });
  });
}
