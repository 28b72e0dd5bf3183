/** The reference matcher against the rules' table (the same table the nginx test runs against real nginx). */
import t from 'tap';
import { matchIngress, prefixBase, requestHost, requestPath, wildcardMatches } from '../../../../dist/components/ingress-nginx/match.js';
import { answer, ingress, SCENARIOS } from '../../../fixtures/ingress/cases.js';

for (const scenario of SCENARIOS) {
  t.test(scenario.name, async (t) => {
    for (const c of scenario.cases) {
      t.equal(answer(matchIngress(scenario.ingresses, c)), c.expect, `${c.host}${c.path}${c.why ? ` (${c.why})` : ''}`);
    }
  });
}

t.test('the table is big enough to mean something', async (t) => {
  t.ok(SCENARIOS.reduce((n, s) => n + s.cases.length, 0) >= 40);
});

t.test('a match names the Ingress, rule host and path; the default backend names only its Ingress', async (t) => {
  const a = ingress('a', [{ host: 'x.test', paths: [['Prefix', '/p', 'svc-a']] }]);
  const b = ingress('b', [{ host: 'x.test', paths: [['Exact', '/q', 'svc-b']] }], { defaultBackend: 'dflt', namespace: 'shop' });
  const m = matchIngress([a, b], { host: 'x.test', path: '/q' });
  t.equal(m?.ingress, b);
  t.same(m?.rule, { host: 'x.test', path: b.rules[0]!.paths[0] });
  const d = matchIngress([a, b], { host: 'x.test', path: '/nothing' });
  t.same([d?.ingress.name, d?.backend.service, d?.rule], ['b', 'dflt', undefined]);
  const hostless = ingress('h', [{ paths: [['Prefix', '/', 'svc-h']] }]);
  t.same(matchIngress([hostless], { host: 'any', path: '/' })?.rule, { path: hostless.rules[0]!.paths[0] }, 'no host key for a host-less rule');
});

t.test('no Ingresses, or only rules that do not match: 404', async (t) => {
  t.equal(matchIngress([], { host: 'a', path: '/' }), undefined);
  t.equal(matchIngress([ingress('a', [{ host: 'a', paths: [] }])], { host: 'a', path: '/' }), undefined, 'a host without paths is matched, then falls to 404');
});

t.test('a host without paths is still chosen first: the host-less rules do not take it', async (t) => {
  const ings = [ingress('a', [{ host: 'a.test', paths: [] }, { paths: [['Prefix', '/', 'any']] }])];
  t.equal(answer(matchIngress(ings, { host: 'a.test', path: '/' })), 404);
  t.equal(answer(matchIngress(ings, { host: 'b.test', path: '/' })), 'any');
});

t.test('Prefix and ImplementationSpecific at equal length tie: the first in input order wins', async (t) => {
  const ings = [ingress('a', [{ paths: [['ImplementationSpecific', '/x', 'first'], ['Prefix', '/x', 'second']] }])];
  t.equal(answer(matchIngress(ings, { host: 'h', path: '/x/y' })), 'first');
});

t.test('request host and path helpers', async (t) => {
  t.equal(requestHost('Shop.Example.COM:8443'), 'shop.example.com');
  t.equal(requestHost('shop.example.com.'), 'shop.example.com');
  t.equal(requestHost('shop.example.com'), 'shop.example.com');
  t.equal(requestPath('/a/b?c=d#e'), '/a/b');
  t.equal(requestPath('/a/b#e?f'), '/a/b');
  t.equal(requestPath('/a/b'), '/a/b');
  t.equal(prefixBase('/foo/'), '/foo');
  t.equal(prefixBase('/'), '/');
  t.equal(prefixBase('/foo'), '/foo');
  t.ok(wildcardMatches('*.foo.com', 'bar.foo.com'));
  t.notOk(wildcardMatches('*.foo.com', 'foo.com'));
  t.notOk(wildcardMatches('*.foo.com', '.foo.com'));
  t.notOk(wildcardMatches('*.foo.com', 'a.bar.foo.com'));
  t.notOk(wildcardMatches('bar.foo.com', 'bar.foo.com'), 'a precise host is no pattern');
});

t.test('fragments are not part of the path', async (t) => {
  const ings = [ingress('a', [{ paths: [['Exact', '/foo', 'foo']] }])];
  t.equal(answer(matchIngress(ings, { host: 'h', path: '/foo#top' })), 'foo');
});
