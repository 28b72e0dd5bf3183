import t from 'tap';
import { isForeignAnnotation } from '../../../dist/config/ingress-annotations.js';
import { lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

const P = 'nginx.ingress.kubernetes.io/';

/** A served Ingress with `annotations` (key: value lines, values quoted as given) and one rule. */
function doc(annotations: Record<string, string>, opts: { name?: string; path?: string; pathType?: string; className?: string; host?: string } = {}): string {
  const ann = Object.entries(annotations).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`);
  return [
    'apiVersion: networking.k8s.io/v1',
    'kind: Ingress',
    'metadata:',
    `  name: ${opts.name ?? 'web'}`,
    ...(ann.length ? ['  annotations:', ...ann] : []),
    'spec:',
    `  ingressClassName: ${opts.className ?? 'nginx'}`,
    '  rules:',
    `    - host: ${opts.host ?? 'shop.example.com'}`,
    '      http:',
    '        paths:',
    `          - {path: ${JSON.stringify(opts.path ?? '/')}, pathType: ${opts.pathType ?? 'Prefix'}, backend: {service: {name: web, port: {number: 80}}}}`,
  ].join('\n');
}
const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');
const messages = (text: string) => problems(text).map((p) => p.message);

t.test('the traffic-shaping annotations are read with ingress-nginx meaning', async (t) => {
  const spec = parse(
    withLab(
      doc({
        [`${P}rewrite-target`]: '/$2',
        [`${P}use-regex`]: 'true',
        [`${P}ssl-redirect`]: 'false',
        [`${P}force-ssl-redirect`]: 'true',
        [`${P}backend-protocol`]: 'grpc',
        [`${P}app-root`]: '/app1',
        [`${P}permanent-redirect`]: 'https://new.example.com$request_uri',
        [`${P}permanent-redirect-code`]: '308',
        [`${P}whitelist-source-range`]: '203.0.113.0/24, 198.51.100.7',
        [`${P}denylist-source-range`]: '10.1.2.3/8',
        [`${P}affinity`]: 'cookie',
        [`${P}session-cookie-name`]: 'route',
        [`${P}proxy-body-size`]: '8m',
        [`${P}service-upstream`]: 'true',
      }, { path: '/api(/|$)(.*)', pathType: 'ImplementationSpecific' }),
    ),
  );
  t.same(spec.ingresses[0]!.annotations, {
    serviceUpstream: true,
    useRegex: true,
    rewriteTarget: '/$2',
    sslRedirect: false,
    forceSslRedirect: true,
    backendProtocol: 'GRPC',
    appRoot: '/app1',
    redirect: { url: 'https://new.example.com$request_uri', code: 308 },
    allowlist: ['203.0.113.0/24', '198.51.100.7/32'],
    denylist: ['10.0.0.0/8'],
    affinity: { cookieName: 'route' },
    proxyBodySize: '8m',
  });
  t.same(spec.notices, [], 'nothing left unread');
});

t.test('canary: weight, header with a value, cookie; temporal redirect wins with its default code', async (t) => {
  const spec = parse(
    withLab(
      doc({}, { name: 'main' }),
      doc({ [`${P}canary`]: 'true', [`${P}canary-weight`]: '20', [`${P}canary-by-header`]: 'X-Canary', [`${P}canary-by-header-value`]: 'yes', [`${P}canary-by-cookie`]: 'canary' }, { name: 'canary' }),
      doc({ [`${P}temporal-redirect`]: 'https://elsewhere.example.com/' }, { name: 'moved', host: 'old.example.com' }),
    ),
  );
  t.same(spec.ingresses[1]!.annotations, { canary: { weight: 20, weightTotal: 100, header: 'X-Canary', headerValue: 'yes', cookie: 'canary' } });
  t.same(spec.ingresses[2]!.annotations, { redirect: { url: 'https://elsewhere.example.com/', code: 302 } });
  t.same(spec.notices, []);
});

t.test('unknown annotations of ingress-nginx and of other controllers: one notice each per Ingress, at the first one', async (t) => {
  const text = withLab(
    doc({
      [`${P}ssl-redirect`]: 'false',
      [`${P}proxy-read-timeout`]: '120',
      [`${P}enable-cors`]: 'true',
      'traefik.ingress.kubernetes.io/router.entrypoints': 'web',
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'example.com/owner': 'team-a',
    }),
  );
  const spec = parse(text);
  t.same(
    spec.notices.map((n) => n.message),
    [
      `Ingress default/web at lab.yaml:${lineOf(text, 'proxy-read-timeout')}: not modelled by the lab: ${P}proxy-read-timeout, ${P}enable-cors; the lab's ingress-nginx serves this Ingress as if they were not set`,
      `Ingress default/web at lab.yaml:${lineOf(text, 'traefik.ingress')}: annotations of another ingress controller, which the lab's ingress-nginx does not read: traefik.ingress.kubernetes.io/router.entrypoints, alb.ingress.kubernetes.io/scheme`,
    ],
  );
  t.same(spec.ingresses[0]!.annotations, { sslRedirect: false });
  t.ok(isForeignAnnotation('nginx.org/rewrites'));
  t.notOk(isForeignAnnotation('kubernetes.io/ingress.class'));
  t.notOk(isForeignAnnotation(`${P}rewrite-target`));
});

t.test('an Ingress of another controller: its annotations are its own business', async (t) => {
  const spec = parse(withLab(doc({ [`${P}configuration-snippet`]: 'more_set_headers "x: y";', [`${P}foo`]: 'bar' }, { className: 'traefik' })));
  t.equal(spec.notices.length, 1);
  t.match(spec.notices[0]!.message, /no controller in this lab serves it/);
});

t.test('refused, at the annotation line: snippets, ssl-passthrough, FCGI and values nginx would misread', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ [`${P}configuration-snippet`]: 'more_set_headers "x: y";' }, /configuration-snippet is refused: ingress-nginx disables snippet annotations by default/],
    [{ [`${P}server-snippet`]: 'location /x {}' }, /server-snippet is refused/],
    [{ [`${P}ssl-passthrough`]: 'true' }, /ssl-passthrough 'true' is refused: ingress-nginx only passes TLS through when its controller is started with --enable-ssl-passthrough/],
    [{ [`${P}backend-protocol`]: 'FCGI' }, /backend-protocol 'FCGI' is refused: the lab's test server does not speak FastCGI/],
    [{ [`${P}backend-protocol`]: 'SMTP' }, /must be one of HTTP, HTTPS, GRPC, GRPCS, AUTO_HTTP/],
    [{ [`${P}ssl-redirect`]: 'yes' }, /ssl-redirect 'yes' must be "true" or "false"/],
    [{ [`${P}rewrite-target`]: '/a; return 200' }, /rewrite-target '\/a; return 200' must be a URI such as \/\$2, without quotes/],
    [{ [`${P}allowlist-source-range`]: '10.0.0.0/8,not-a-cidr' }, /has 'not-a-cidr', which is neither an IP address nor a CIDR/],
    [{ [`${P}canary-weight`]: '20' }, /canary-weight '20' is set, but nginx.ingress.kubernetes.io\/canary is not "true"/],
    [{ [`${P}canary`]: 'true', [`${P}canary-weight`]: 'half' }, /canary-weight 'half' must be a whole number/],
    [{ [`${P}affinity`]: 'ip' }, /affinity 'ip' must be "cookie"/],
    [{ [`${P}session-cookie-name`]: 'route' }, /session-cookie-name 'route' has no effect without nginx.ingress.kubernetes.io\/affinity: cookie/],
    [{ [`${P}upstream-hash-by`]: '$request_uri"; deny all' }, /upstream-hash-by .* must be nginx variables/],
    [{ [`${P}proxy-body-size`]: 'lots' }, /proxy-body-size 'lots' must be a size such as 8m/],
    [{ [`${P}permanent-redirect`]: 'elsewhere' }, /permanent-redirect 'elsewhere' must be an absolute http:\/\/ or https:\/\/ URL/],
    [{ [`${P}app-root`]: 'app' }, /app-root 'app' must be a path other than \/ starting with \//],
    [{ [`${P}rewrite-target`]: '/$path' }, /rewrite-target '\/\$path' uses \$path, which is not an nginx variable/],
    [{ [`${P}permanent-redirect`]: 'https://x.test$reqest_uri' }, /uses \$reqest_uri, which is not an nginx variable/],
    [{ [`${P}rewrite-target`]: 'https://elsewhere.test/$1' }, /is an absolute URL, which nginx's rewrite answers with a 302 redirect/],
  ];
  for (const [ann, re] of cases) {
    const text = withLab(doc(ann));
    const ps = problems(text);
    t.equal(ps.length, 1, Object.keys(ann).join(','));
    t.match(ps[0]?.message, re);
    const last = Object.keys(ann).at(-1)!;
    t.equal(ps[0]?.source?.line, lineOf(text, last.slice(P.length) + ':'), `${last}: the line of the annotation`);
  }
});

t.test('regular-expression paths need ImplementationSpecific and use-regex or rewrite-target', async (t) => {
  t.same(parse(withLab(doc({ [`${P}use-regex`]: 'true' }, { path: '/api/v[0-9]+/(.*)', pathType: 'ImplementationSpecific' }))).ingresses[0]!.rules[0]!.paths[0]!.path, '/api/v[0-9]+/(.*)');
  t.match(messages(withLab(doc({}, { path: '/api/v[0-9]+', pathType: 'ImplementationSpecific' })))[0], /a regular expression needs pathType ImplementationSpecific and the annotation nginx.ingress.kubernetes.io\/use-regex: "true"/);
  t.match(messages(withLab(doc({ [`${P}use-regex`]: 'true' }, { path: '/api/v[0-9+', pathType: 'ImplementationSpecific' })))[0], /is not a regular expression/);
  t.match(messages(withLab(doc({ [`${P}use-regex`]: 'true' }, { path: '/api/(.*)', pathType: 'Prefix' })))[0], /has regular-expression characters; on an Ingress with use-regex or rewrite-target, ingress-nginx takes them only in a path of pathType ImplementationSpecific/);
});

t.test('a canary path with no main Ingress on the same host and path: a notice', async (t) => {
  const spec = parse(withLab(doc({}, { name: 'main' }), doc({ [`${P}canary`]: 'true', [`${P}canary-weight`]: '50' }, { name: 'canary', path: '/other' })));
  t.same(spec.notices.map((n) => n.message.replace(/:\d+:/, ':N:')), [
    'Ingress default/canary at lab.yaml:N: canary path shop.example.com/other matches no path of a main (non-canary) Ingress with the same host, path and pathType; ingress-nginx ignores it, so it has no effect',
  ]);
});

t.test('variables nginx knows are accepted', async (t) => {
  const spec = parse(withLab(doc({ [`${P}permanent-redirect`]: 'https://x.test$request_uri?from=$host&c=$cookie_id&h=$http_x_user', [`${P}upstream-hash-by`]: '$binary_remote_addr$arg_user' })));
  t.match(spec.ingresses[0]!.annotations, { redirect: { url: 'https://x.test$request_uri?from=$host&c=$cookie_id&h=$http_x_user' }, upstreamHashBy: '$binary_remote_addr$arg_user' });
});

t.test('a host made regex by one Ingress: plain paths of the others must not hold regex characters', async (t) => {
  const text = withLab(doc({ [`${P}use-regex`]: 'true' }, { name: 'regex', path: '/api/(.*)', pathType: 'ImplementationSpecific' }), doc({}, { name: 'plain', path: '/c++', pathType: 'ImplementationSpecific' }));
  t.match(messages(text)[0], /Ingress default\/plain: path '\/c\+\+' of host shop.example.com has regular-expression characters, and Ingress default\/regex makes every path of that host a regular expression/);
  t.same(parse(withLab(doc({ [`${P}use-regex`]: 'true' }, { name: 'regex', path: '/api/(.*)', pathType: 'ImplementationSpecific' }), doc({}, { name: 'plain', path: '/c++', pathType: 'ImplementationSpecific', host: 'other.example.com' }))).ingresses.length, 2, 'on another host it is a plain path');
});
