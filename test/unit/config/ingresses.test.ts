import t from 'tap';
import { servedIngresses } from '../../../dist/spec/ingress.js';
import { FILE, codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');
const NS = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}`;
const BACKEND = '{service: {name: web, port: {number: 80}}}';

/** An Ingress document; `spec` lines are indented under `spec:` here. */
function ing(name: string, spec: string[], meta = ''): string {
  return ['apiVersion: networking.k8s.io/v1', 'kind: Ingress', `metadata: {name: ${name}${meta}}`, 'spec:', ...spec.map((l) => `  ${l}`)].join('\n');
}
const rule = (host: string | undefined, path = '/', pathType = 'Prefix', backend = BACKEND) =>
  `- {${host !== undefined ? `host: ${JSON.stringify(host)}, ` : ''}http: {paths: [{path: ${JSON.stringify(path)}, pathType: ${pathType}, backend: ${backend}}]}}`;
const rules = (...rs: string[]) => ['rules:', ...rs.map((r) => `  ${r}`)];
const ingClass = (name: string, controller: string, isDefault = false) =>
  `apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: ${name}${isDefault ? `\n  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}` : ''}\nspec:\n  controller: ${controller}`;

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');
function secret(name: string, data: Record<string, string>, extra = '', type = 'kubernetes.io/tls'): string {
  return [`apiVersion: v1`, `kind: Secret`, `metadata: {name: ${name}${extra}}`, `type: ${type}`, 'data:', ...Object.entries(data).map(([k, v]) => `  ${k}: ${v}`)].join('\n');
}
const tlsSecret = (name: string, extra = '') => secret(name, { 'tls.crt': b64(CERT), 'tls.key': b64(KEY) }, extra);

const messages = (text: string) => problems(text).map((p) => p.message);

t.test('an Ingress with every field', async (t) => {
  const text = withLab(
    NS('shop'),
    tlsSecret('shop.example.com', ', namespace: shop'),
    ing(
      'shop.web',
      [
        'ingressClassName: nginx',
        'defaultBackend: {service: {name: fallback, port: {name: http}}}',
        'tls: [{hosts: [shop.example.com, "*.shop.example.com"], secretName: shop.example.com}, {hosts: [gen.example.com]}]',
        ...rules(
          rule('shop.example.com', '/api'),
          rule('*.shop.example.com', '/', 'Exact'),
          rule(undefined, '/x', 'ImplementationSpecific'),
          '- {host: empty.example.com}',
          '- http:',
          '    paths:',
          '      - {pathType: ImplementationSpecific, backend: {service: {name: web, port: {name: http}}}}',
        ),
      ],
      ', namespace: shop, labels: {app: web}, annotations: {nginx.ingress.kubernetes.io/ssl-redirect: "false"}',
    ),
  );
  const spec = parse(text);
  const web = { service: 'web', port: { number: 80 } };
  t.same(spec.ingresses, [
    {
      namespace: 'shop',
      name: 'shop.web',
      annotations: { sslRedirect: false },
      ingressClassName: 'nginx',
      defaultBackend: { service: 'fallback', port: { name: 'http' } },
      rules: [
        { host: 'shop.example.com', paths: [{ path: '/api', pathType: 'Prefix', backend: web }] },
        { host: '*.shop.example.com', paths: [{ path: '/', pathType: 'Exact', backend: web }] },
        { paths: [{ path: '/x', pathType: 'ImplementationSpecific', backend: web }] },
        { host: 'empty.example.com', paths: [] },
        { paths: [{ path: '/', pathType: 'ImplementationSpecific', backend: { service: 'web', port: { name: 'http' } } }] },
      ],
      tls: [{ hosts: ['shop.example.com', '*.shop.example.com'], secretName: 'shop.example.com' }, { hosts: ['gen.example.com'] }],
      source: { file: FILE, line: lineOf(text, 'kind: Ingress') - 1, col: 1 },
    },
  ]);
  t.same(spec.tlsSecrets.map((s) => [s.namespace, s.name, s.cert, s.key]), [['shop', 'shop.example.com', CERT, KEY]]);
  t.same(spec.notices, [], 'an Ingress is read, not reported as a later kind; its backend Service need not exist');
});

t.test('an Ingress with only a default backend', async (t) => {
  const spec = parse(withLab(ing('all', [`defaultBackend: ${BACKEND}`])));
  t.same(spec.ingresses.map((i) => [i.name, i.defaultBackend, i.rules, i.tls]), [['all', { service: 'web', port: { number: 80 } }, [], []]]);
});

t.test('IngressClasses: controller, default annotation, parameters without effect', async (t) => {
  const text = withLab(
    ingClass('internal', 'k8s.io/ingress-nginx', true),
    `${ingClass('traefik', 'traefik.io/ingress-controller')}\n  parameters: {kind: IngressParameters, name: p}`,
  );
  const spec = parse(text);
  t.same(
    spec.ingressClasses.map((c) => [c.name, c.controller, c.isDefault, c.source.line]),
    [
      ['internal', 'k8s.io/ingress-nginx', true, lineOf(text, 'kind: IngressClass') - 1],
      ['traefik', 'traefik.io/ingress-controller', false, lineOf(text, 'kind: IngressClass', lineOf(text, 'kind: IngressClass')) - 1],
    ],
  );
  t.match(spec.notices[0]!.message, /^IngressClass traefik at lab\.yaml:\d+: spec\.parameters has no effect/);
});

t.test('TLS Secrets: base64 data or stringData (which wins); other Secrets stay ignored', async (t) => {
  const text = withLab(
    secret('a', { 'tls.crt': b64(CERT), 'tls.key': b64(KEY), 'ca.crt': b64(CERT) }),
    [
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: b}',
      'type: kubernetes.io/tls',
      'data: {tls.crt: "!!!", tls.key: "!!!"}',
      'stringData:',
      '  tls.crt: |',
      ...CERT.trimEnd().split('\n').map((l) => `    ${l}`),
      '  tls.key: |',
      ...KEY.trimEnd().split('\n').map((l) => `    ${l}`),
    ].join('\n'),
    secret('opaque', { password: b64('x') }, '', 'Opaque'),
    'apiVersion: v1\nkind: Secret\nmetadata: {name: untyped}',
  );
  const spec = parse(text);
  t.same(spec.tlsSecrets.map((s) => [s.name, s.cert, s.key]), [['a', CERT, KEY], ['b', CERT, KEY]]);
  t.same(
    spec.notices.map((n) => n.message.replace(/:\d+:/, ':N:')),
    ["Secret opaque at lab.yaml:N: ignored; kind Secret does not shape the lab's network", "Secret untyped at lab.yaml:N: ignored; kind Secret does not shape the lab's network"],
  );
});

t.test('rule hosts: DNS names in lower case, a wildcard only as the whole first label', async (t) => {
  const cases: [string, RegExp][] = [
    ['Shop.Example.com', /has upper-case letters; write 'shop\.example\.com'/],
    ['10.0.0.1', /must be a DNS name, not an IP address/],
    ['shop.example.com:8080', /must be a DNS name, not an IP address or host:port/],
    ['*', /'\*' is not allowed; leave host out/],
    ['a.*.example.com', /a wildcard '\*' may only be the whole first label/],
    ['*foo.example.com', /a wildcard '\*' may only be the whole first label/],
    ['under_score.example.com', /is not a DNS-1123 subdomain/],
  ];
  for (const [host, message] of cases) {
    const text = withLab(ing('i', rules(rule(host))));
    const ps = problems(text);
    t.same(codesAndLines(ps), [['bad-value', lineOf(text, '- {host:')]], host);
    t.match(ps[0]!.message, message, host);
    t.match(ps[0]!.message, /^Ingress default\/i: spec\.rules\[\]\.host /, `${host}: names the object and field`);
  }
  t.same(parse(withLab(ing('i', rules(rule('*.example.com'))))).ingresses[0]!.rules[0]!.host, '*.example.com');
});

t.test('paths: absolute, pathType required and known, no escapes', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['foo', 'Prefix', /path 'foo' must be an absolute path starting with '\/'/],
    ['/a//b', 'Exact', /must not contain '\/\/'/],
    ['/a/../b', 'Prefix', /must not contain '\/\.\.\/'/],
    ['/a/.', 'Prefix', /cannot end with '\/\.'/],
    ['/a%2Fb', 'Prefix', /must not contain '%2F'/],
    ['/a b', 'Prefix', /has characters the lab does not route on/],
    ['/a?b', 'Exact', /has characters the lab does not route on/],
    ['/x', 'Regex', /pathType must be one of Exact, Prefix, ImplementationSpecific, not "Regex"/],
  ];
  for (const [path, type, message] of cases) {
    const ps = problems(withLab(ing('i', rules(rule('a.test', path, type)))));
    t.equal(ps.length, 1, `${type} ${path}`);
    t.match(ps[0]?.message, message, `${type} ${path}`);
  }
  const text = withLab(ing('i', ['rules:', '  - http:', '      paths:', `        - {path: /, backend: ${BACKEND}}`]));
  t.same(codesAndLines(problems(text)), [['missing-field', lineOf(text, '- {path: /')]]);
  t.match(messages(text)[0], /pathType is required in networking\.k8s\.io\/v1: one of Exact, Prefix, ImplementationSpecific/);
  t.match(messages(withLab(ing('i', ['rules:', '  - http:', '      paths:', `        - {pathType: Exact, backend: ${BACKEND}}`])))[0], /path is required for pathType Exact/);
});

t.test('backends: a Service with exactly one of port number and name; no resource backends', async (t) => {
  const cases: [string, RegExp][] = [
    ['{resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: icons}}', /backend\.resource is not supported: it names a custom resource, and the lab has none; use .*backend\.service/],
    ['{service: {port: {number: 80}}}', /backend\.service\.name is required/],
    ['{service: {name: web}}', /backend\.service\.port is required, e\.g\. port: \{number: 80\}/],
    ['{service: {name: web, port: {number: 80, name: http}}}', /has both number and name; give exactly one/],
    ['{service: {name: web, port: {}}}', /needs a number or a name/],
    ['{service: {name: web, port: {number: 0}}}', /port\.number must be an integer from 1 to 65535, not 0/],
    ['{service: {name: web, port: {number: 70000}}}', /from 1 to 65535, not 70000/],
    ['{service: {name: web, port: {name: HTTP}}}', /is not a valid port name/],
    ['{service: {name: Web, port: {number: 80}}}', /service\.name 'Web' is not a DNS-1123 label/],
    ['{service: {name: web, port: {number: 80}, weight: 3}}', /unknown field 'weight'/],
    ['{}', /needs a service, e\.g\./],
  ];
  for (const [backend, message] of cases) {
    const ps = problems(withLab(ing('i', rules(rule(undefined, '/', 'Prefix', backend)))));
    t.equal(ps.length, 1, backend);
    t.match(ps[0]?.message, message, backend);
    t.match(ps[0]?.message, /Ingress default\/i: spec\.rules\[\]\.http\.paths\[\]\.backend/, `${backend}: names the object and field`);
  }
  t.match(messages(withLab(ing('i', ['defaultBackend: {resource: {kind: X, name: y}}'])))[0], /^Ingress default\/i: spec\.defaultBackend\.resource is not supported/);
});

t.test('the spec: rules or a default backend, non-empty paths, known fields, tls well-formed', async (t) => {
  const cases: [string[], RegExp][] = [
    [['tls: []'], /spec needs rules or a defaultBackend \(either is enough\)/],
    [['rules: []'], /spec needs rules or a defaultBackend/],
    [['rules:', '  - {host: a.test, http: {paths: []}}'], /http\.paths needs at least one path/],
    [['rules:', '  - {host: a.test, http: {}}'], /http\.paths needs at least one path/],
    [[...rules(rule('a.test')), 'backend: {serviceName: web}'], /unknown field 'backend' in Ingress default\/i: spec; allowed: ingressClassName, defaultBackend, tls, rules/],
    [[...rules(rule('a.test')), 'tls: [{hosts: ["Bad.test"]}]'], /spec\.tls\[\]\.hosts\[\] 'Bad\.test' has upper-case letters/],
    [[...rules(rule('a.test')), 'tls: [{hosts: [a.test], secretName: Bad_Name}]'], /spec\.tls\[\]\.secretName 'Bad_Name' is not a DNS-1123 subdomain/],
    [[...rules(rule('a.test')), 'ingressClassName: Nginx'], /spec\.ingressClassName 'Nginx' is not a DNS-1123 subdomain/],
  ];
  for (const [spec, message] of cases) {
    const ps = problems(withLab(ing('i', spec)));
    t.equal(ps.length, 1, spec.join(' '));
    t.match(ps[0]?.message, message, spec.join(' '));
  }
  t.match(messages(withLab('apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}'))[0], /^Ingress default\/i needs a spec with rules or a defaultBackend/);
  t.match(messages(withLab(ing('i', rules(rule('a.test')), ', namespace: shop')))[0], /namespace 'shop', which no Namespace document declares/);
});

t.test('only networking.k8s.io/v1 is served', async (t) => {
  const text = withLab(ing('i', rules(rule('a.test'))).replace('networking.k8s.io/v1', 'extensions/v1beta1'), ingClass('c', 'k8s.io/ingress-nginx').replace('networking.k8s.io/v1', 'networking.k8s.io/v1beta1'));
  t.same(
    messages(text),
    ['Ingress is served as apiVersion networking.k8s.io/v1, not extensions/v1beta1', 'IngressClass is served as apiVersion networking.k8s.io/v1, not networking.k8s.io/v1beta1'],
  );
});

t.test('duplicates are reported at the second declaration', async (t) => {
  const text = withLab(ing('i', rules(rule('a.test'))), ing('i', rules(rule('b.test'))), ingClass('c', 'k8s.io/ingress-nginx'), ingClass('c', 'k8s.io/ingress-nginx'), tlsSecret('s'), tlsSecret('s'));
  const ps = problems(text);
  t.same(
    codesAndLines(ps),
    [
      ['duplicate', lineOf(text, 'kind: Ingress', lineOf(text, 'kind: Ingress')) - 1],
      ['duplicate', lineOf(text, 'kind: IngressClass', lineOf(text, 'kind: IngressClass')) - 1],
      ['duplicate', lineOf(text, 'kind: Secret', lineOf(text, 'kind: Secret')) - 1],
    ],
  );
  t.match(ps[0]!.message, /^Ingress default\/i is declared twice \(first at lab\.yaml:\d+\)$/);
});

t.test('a tls secretName must name a TLS Secret of the same namespace', async (t) => {
  const text = withLab(NS('shop'), tlsSecret('shop-tls', ', namespace: shop'), secret('opaque', { a: b64('b') }, '', 'Opaque'), ing('i', [...rules(rule('a.test')), 'tls:', '  - hosts: [a.test]', '    secretName: shop-tls', '  - {hosts: [a.test], secretName: opaque}']));
  const ps = problems(text);
  t.same(codesAndLines(ps), [
    ['bad-value', lineOf(text, 'secretName: shop-tls')],
    ['bad-value', lineOf(text, 'secretName: opaque')],
  ]);
  t.match(ps[0]!.message, /^Ingress default\/i: spec\.tls secretName 'shop-tls' names no Secret of type kubernetes\.io\/tls in namespace default; add one \(kubectl create secret tls shop-tls/);
});

t.test('TLS Secret contents', async (t) => {
  const cases: [string, RegExp][] = [
    [secret('s', { 'tls.crt': b64(CERT) }), /Secret default\/s of type kubernetes\.io\/tls needs data\.tls\.key \(base64 of the PEM file\) or stringData\.tls\.key/],
    [secret('s', { 'tls.crt': '"not base64!"', 'tls.key': b64(KEY) }), /data\.tls\.crt is not base64/],
    [secret('s', { 'tls.crt': b64('hello'), 'tls.key': b64(KEY) }), /tls\.crt holds no PEM '-----BEGIN CERTIFICATE-----' block/],
    [secret('s', { 'tls.crt': b64(CERT), 'tls.key': b64(CERT) }), /tls\.key holds no PEM '-----BEGIN PRIVATE KEY-----' block/],
    [`${secret('s', { 'tls.crt': b64(CERT), 'tls.key': b64(KEY) })}\nextra: 1`, /unknown field 'extra' in a Secret/],
  ];
  for (const [doc, message] of cases) {
    const ps = problems(withLab(doc));
    t.equal(ps.length, 1, String(message));
    t.match(ps[0]?.message, message);
  }
  for (const kind of ['RSA PRIVATE KEY', 'EC PRIVATE KEY']) {
    const key = KEY.replaceAll('PRIVATE KEY', kind);
    t.equal(parse(withLab(secret('s', { 'tls.crt': b64(CERT), 'tls.key': b64(key) }))).tlsSecrets.length, 1, kind);
  }
});

t.test('IngressClass problems', async (t) => {
  const cases: [string, RegExp][] = [
    ['apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: c}\nspec: {}', /IngressClass c: spec\.controller is required, e\.g\. controller: k8s\.io\/ingress-nginx/],
    ['apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: c}', /IngressClass c needs spec\.controller/],
    [ingClass('c', 'ingress-nginx'), /spec\.controller 'ingress-nginx' must be a domain-prefixed path/],
    [ingClass('nginx', 'example.com/other'), /the lab installs IngressClass nginx itself, for its ingress-nginx \(controller k8s\.io\/ingress-nginx\); give your class another name/],
  ];
  for (const [doc, message] of cases) {
    const ps = problems(withLab(doc));
    t.equal(ps.length, 1, String(message));
    t.match(ps[0]?.message, message);
  }
  t.same(parse(withLab(ingClass('nginx', 'k8s.io/ingress-nginx'))).ingressClasses.map((c) => c.name), ['nginx'], 'declaring the lab class as it is is fine');
});

t.test('Ingresses no controller of the lab serves get a notice', async (t) => {
  const text = withLab(
    ingClass('traefik', 'traefik.io/ingress-controller'),
    ing('a', ['ingressClassName: traefik', ...rules(rule('a.test'))]),
    ing('b', ['ingressClassName: haproxy', ...rules(rule('b.test'))]),
    ing('c', rules(rule('c.test'))),
  );
  const spec = parse(text);
  t.same(
    spec.notices.map((n) => [n.source?.line, n.message]),
    [
      [lineOf(text, 'ingressClassName: traefik'), `Ingress default/a at ${FILE}:${lineOf(text, 'ingressClassName: traefik')}: no controller in this lab serves it (its class traefik belongs to controller traefik.io/ingress-controller; the lab's ingress-nginx serves class nginx and classes with controller k8s.io/ingress-nginx); it has no effect`],
      [lineOf(text, 'ingressClassName: haproxy'), `Ingress default/b at ${FILE}:${lineOf(text, 'ingressClassName: haproxy')}: no controller in this lab serves it (no IngressClass haproxy exists; the lab's ingress-nginx serves class nginx and classes with controller k8s.io/ingress-nginx); it has no effect`],
    ],
    'an Ingress without a class has the lab default, nginx',
  );
  t.same(servedIngresses(spec).map((i) => i.name), ['c']);
});

t.test('the default class decides for Ingresses without one', async (t) => {
  const text = withLab(ingClass('traefik', 'traefik.io/ingress-controller', true), ing('a', rules(rule('a.test'))), ing('b', ['ingressClassName: nginx', ...rules(rule('b.test'))]));
  const spec = parse(text);
  t.same(servedIngresses(spec).map((i) => i.name), ['b']);
  t.match(spec.notices[0]!.message, /^Ingress default\/a at lab\.yaml:\d+: no controller in this lab serves it \(its class traefik belongs to controller traefik\.io\/ingress-controller/);

  const own = parse(withLab(ingClass('internal', 'k8s.io/ingress-nginx', true), ing('a', rules(rule('a.test'))), ing('b', ['ingressClassName: internal', ...rules(rule('b.test'))])));
  t.same(servedIngresses(own).map((i) => i.name), ['a', 'b'], 'a default class of the lab controller serves them');
  t.same(own.notices, []);

  const two = withLab(ingClass('x', 'k8s.io/ingress-nginx', true), ingClass('y', 'k8s.io/ingress-nginx', true), ing('a', rules(rule('a.test'))), ing('b', ['ingressClassName: x', ...rules(rule('b.test'))]));
  const ps = problems(two);
  t.same(codesAndLines(ps), [['bad-value', lineOf(two, 'metadata: {name: a}') - 2]], 'only the Ingress relying on the default is refused');
  t.match(ps[0]!.message, /^Ingress default\/a has no ingressClassName, and 2 IngressClasses are marked default \(x at lab\.yaml:\d+, y at lab\.yaml:\d+\); Kubernetes refuses it then/);
});

t.test('the deprecated kubernetes.io/ingress.class annotation', async (t) => {
  const annotated = (v: string, spec: string[] = []) => ing('a', [...spec, ...rules(rule('a.test'))], `, annotations: {kubernetes.io/ingress.class: ${v}}`);
  t.equal(parse(withLab(annotated('nginx'))).ingresses[0]!.ingressClassName, 'nginx', 'stands for ingressClassName');
  t.equal(parse(withLab(annotated('nginx', ['ingressClassName: nginx']))).ingresses[0]!.ingressClassName, 'nginx', 'may repeat it');
  t.match(messages(withLab(annotated('traefik', ['ingressClassName: nginx'])))[0], /annotation kubernetes\.io\/ingress\.class 'traefik' must match spec\.ingressClassName 'nginx' when both are given/);
  t.match(parse(withLab(annotated('traefik'))).notices[0]!.message, /no controller in this lab serves it \(no IngressClass traefik exists/);
});

t.test('servedIngresses on a spec built in code', async (t) => {
  const i = (name: string, ingressClassName?: string) => ({ namespace: 'default', name, ...(ingressClassName ? { ingressClassName } : {}), rules: [], tls: [], source: { file: 'f', line: 1 } });
  const c = (name: string, controller: string, isDefault = false) => ({ name, controller, isDefault, source: { file: 'f', line: 1 } });
  t.same(servedIngresses({ ingresses: [i('a'), i('b', 'nginx'), i('c', 'other')], ingressClasses: [] }).map((x) => x.name), ['a', 'b']);
  t.same(servedIngresses({ ingresses: [i('a'), i('b', 'mine'), i('c', 'other')], ingressClasses: [c('mine', 'k8s.io/ingress-nginx'), c('other', 'example.com/x')] }).map((x) => x.name), ['a', 'b']);
  t.same(servedIngresses({ ingresses: [i('a'), i('b', 'nginx')], ingressClasses: [c('other', 'example.com/x', true)] }).map((x) => x.name), ['b']);
});
