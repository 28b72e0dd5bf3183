import t from 'tap';
import { proxyInputs } from '../../../dist/model/endpoints.js';
import type { IngressSpec } from '../../../dist/spec/ingress.js';
import { planLab } from '../../../dist/model/plan.js';
import { resolverData } from '../../../dist/model/dns-records.js';
import { upstreamData, upstreamServers } from '../../../dist/components/ingress-nginx/upstreams.js';
import type { IngressBackendSpec } from '../../../dist/spec/ingress.js';
import { binomialPmf, canaryRequests, ingressChecks, shareProblem, shareRegion, type IngressProbe } from '../../../dist/verify/ingress-checks.js';
import { outsideInChecks } from '../../../dist/verify/outside-in-checks.js';
import { labSpec, pod, service } from '../../helpers/spec.js';

const SRC = { file: 'test.yaml', line: 1 };
const ing = (over: Partial<IngressSpec>): IngressSpec => ({ namespace: 'default', name: 'shop', ingressClassName: 'nginx', rules: [], tls: [], source: SRC, ...over });

function spec() {
  const s = labSpec({
    pods: [
      pod('default', 'web', { nodeName: 'node1' }),
      pod('default', 'api', { nodeName: 'node2' }),
      pod('default', 'hp', { nodeName: 'node2', containers: [{ name: 'c', ports: [{ containerPort: 8080, protocol: 'TCP', hostPort: 8081 }] }] }),
      pod('default', 'hn', { nodeName: 'node3', hostNetwork: true, containers: [{ name: 'agent', ports: [{ containerPort: 9100, protocol: 'TCP' }] }] }),
    ],
    services: [
      service('default', 'web', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }),
      service('default', 'api', { type: 'LoadBalancer', loadBalancerSourceRanges: ['198.51.100.0/24'] }),
    ],
    ingresses: [
      ing({
        tls: [{ hosts: ['shop.example.com'] }],
        rules: [
          { host: 'shop.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } } }] },
          { host: '*.apps.example.com', paths: [{ path: '/api', pathType: 'Exact', backend: { service: 'api', port: { name: 'http' } } }] },
          { host: 'gone.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: { service: 'nothing', port: { number: 80 } } }] },
        ],
      }),
    ],
  });
  s.external.servers = [{ name: 'legacy.example.net', address: '203.0.113.50', ports: [80] }];
  return s;
}

const plan = planLab(spec());
const proxy = proxyInputs(plan, () => true);

t.test('the ingress add-on: two controller pods behind a Local LoadBalancer, only when an Ingress is served', async (t) => {
  const controllers = plan.pods.filter((p) => p.namespace === 'ingress-nginx');
  t.equal(controllers.length, 2);
  t.ok(controllers.every((p) => p.containers[0]!.program === 'ingress-nginx' && p.containers[0]!.readinessProbe?.handler.kind === 'httpGet'));
  const svc = plan.services.find((s) => s.key === 'ingress-nginx/ingress-nginx-controller')!;
  t.match(svc, { type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerIP: '203.0.113.194' });
  t.ok(svc.healthCheckNodePort, 'health-checked on its own node port');
  const other = planLab({ ...spec(), ingresses: [ing({ ingressClassName: 'traefik', rules: [{ paths: [{ path: '/', pathType: 'Prefix', backend: { service: 'web', port: { number: 80 } } }] }] })] });
  t.notOk(other.pods.some((p) => p.namespace === 'ingress-nginx'), 'no controller for an Ingress of another class');
});

t.test('backends: the ready endpoints by default, the ClusterIP with service-upstream; undefined where no Service or port is', async (t) => {
  const web = plan.services.find((s) => s.key === 'default/web')!;
  const webPod = plan.pods.find((p) => p.key === 'default/web')!;
  const data = upstreamData(plan, () => true);
  const up = (namespace: string, backend: IngressBackendSpec, serviceUpstream = false) => upstreamServers(plan, data, { namespace, backend, serviceUpstream });
  t.same(up('default', { service: 'web', port: { number: 80 } }), [`${webPod.ip}:8080`], 'pod IP and targetPort');
  t.same(up('default', { service: 'web', port: { name: 'http' } }), [`${webPod.ip}:8080`], 'by port name');
  t.same(up('default', { service: 'web', port: { number: 80 } }, true), [`${web.clusterIP}:80`], 'service-upstream: ClusterIP and service port');
  t.equal(up('default', { service: 'web', port: { number: 81 } }), undefined);
  t.equal(up('default', { service: 'nothing', port: { number: 80 } }), undefined);
  t.equal(up('shop', { service: 'web', port: { number: 80 } }), undefined, 'only the Ingress namespace');
  const notReady = upstreamData(plan, (key) => key !== 'default/web');
  t.same(upstreamServers(plan, notReady, { namespace: 'default', backend: { service: 'web', port: { number: 80 } }, serviceUpstream: false }), [], 'a pod that is not ready is no upstream server');
  t.not(notReady.version, data.version, 'a readiness change is a new version');
});

t.test('the internet resolver publishes precise ingress hosts at the controller IP, next to the external servers', async (t) => {
  t.same(resolverData(plan, 1).hosts, [
    { name: 'legacy.example.net', addresses: ['203.0.113.50'] },
    { name: 'shop.example.com', addresses: ['203.0.113.194'] },
    { name: 'gone.example.com', addresses: ['203.0.113.194'] },
  ]);
});

t.test('P7, P9, P12 from the plan', async (t) => {
  const checks = outsideInChecks(plan, proxy);
  const byName = (re: RegExp) => checks.filter((c) => re.test(c.name));
  const web = byName(/^P7 .* service default\/web:http/)[0]!;
  t.match(web.probes[0], { kind: 'service', ip: '203.0.113.192', port: 80, allowed: ['web'], clientIP: { equals: '203.0.113.10' } });
  t.match(byName(/^P7 .* service default\/api:http/)[0], { name: /203\.0\.113\.10 is outside loadBalancerSourceRanges 198\.51\.100\.0\/24, dropped/, probes: [{ kind: 'dropped', ip: '203.0.113.193' }] });
  t.match(byName(/^P9 external -> hostPort/)[0]!.probes[0], { kind: 'http', ip: '192.168.56.12', port: 8081, expect: { pod: 'hp', clientIP: '203.0.113.10' } });
  t.same(byName(/^P9 .* is refused/).map((c) => (c.probes[0] as { ip: string }).ip), ['192.168.56.11', '192.168.56.13']);
  t.match(byName(/^P9 external -> hostNetwork/)[0]!.probes[0], { kind: 'http', ip: '192.168.56.13', port: 9100, expect: { pod: 'hn' } });
  const egress = byName(/^P12 /);
  t.equal(egress.length, 3, 'one pod per node; node3 has only the hostNetwork pod and a DNS pod');
  t.match(egress[0]!.probes[0], { kind: 'http', ip: '203.0.113.50', port: 80, expect: { pod: 'legacy.example.net', clientIP: '192.168.56.11' } });
  t.notOk(egress.some((c) => c.name.includes('default/hn')), 'hostNetwork pods are not egress clients');
});

t.test('P8: every rule, the redirect and certificate of TLS hosts, 404 and 503 as the matcher says', async (t) => {
  const checks = ingressChecks(plan, proxy);
  const find = (needle: string) => checks.find((c) => c.name.includes(needle));
  t.match(find('http://shop.example.com/:')!.probes[0], { kind: 'ingress', scheme: 'http', ip: '203.0.113.194', port: 80, expect: { status: 308 } });
  t.match(find('https://shop.example.com/deeper:')!.probes[0], { scheme: 'https', port: 443, caFile: /\/ingress\/ca\.crt$/, expect: { status: 404, pods: ['web'] } });
  t.match(find('https://shop.example.com/:')!.probes[0], { expect: { status: 200, pods: ['web'] } });
  t.match(find('http://x.apps.example.com/api:')!.probes[0], { host: 'x.apps.example.com', expect: { status: 404, pods: ['api'] } }, 'the test server has no /api: its own 404, from the right pod');
  t.match(find('http://x.apps.example.com/kube-netlab-no-such-path:')!.probes[0], { expect: { status: 404 } });
  t.notOk((find('http://x.apps.example.com/kube-netlab-no-such-path:')!.probes[0] as { expect: { pods?: string[] } }).expect.pods, 'nginx answers, no pod');
  t.match(find('http://gone.example.com/:')!, { name: /backend nothing does not exist: 503/, probes: [{ expect: { status: 503 } }] });
  t.match(find('unknown-host.invalid')!.probes[0], { expect: { status: 404 } });
  t.same(ingressChecks(planLab(labSpec({ pods: [pod('default', 'a')] })), []), [], 'no Ingress, no P8');
});

t.test('P8 follows the annotations: rewrite, ssl-redirect off, allowlist, canary share and header, affinity, gRPC', async (t) => {
  const b = (service: string) => ({ service, port: { number: 80 } });
  const s = labSpec({
    pods: [pod('default', 'web-a', { nodeName: 'node1', labels: { app: 'web' } }), pod('default', 'web-b', { nodeName: 'node2', labels: { app: 'web' } }), pod('default', 'next', { nodeName: 'node2', labels: { app: 'next' } })],
    services: [service('default', 'web', { selector: { app: 'web' } }), service('default', 'next', { selector: { app: 'next' } })],
    ingresses: [
      ing({ name: 'rw', annotations: { rewriteTarget: '/$2' }, rules: [{ host: 'rw.example.com', paths: [{ path: '/api(/|$)(.*)', pathType: 'ImplementationSpecific', backend: b('web') }] }] }),
      ing({ name: 'open', annotations: { sslRedirect: false }, tls: [{ hosts: ['open.example.com'] }], rules: [{ host: 'open.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: b('web') }] }] }),
      ing({ name: 'closed', annotations: { allowlist: ['198.51.100.0/24'] }, rules: [{ host: 'closed.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: b('web') }] }] }),
      ing({ name: 'main', rules: [{ host: 'canary.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: b('web') }] }] }),
      ing({ name: 'canary', annotations: { canary: { weight: 20, weightTotal: 100, header: 'X-Canary', cookie: 'beta' } }, rules: [{ host: 'canary.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: b('next') }] }] }),
      ing({ name: 'sticky', annotations: { affinity: { cookieName: 'route' } }, rules: [{ host: 'sticky.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: b('web') }] }] }),
      ing({ name: 'grpc', annotations: { backendProtocol: 'GRPC' }, tls: [{ hosts: ['grpc.example.com'] }], rules: [{ host: 'grpc.example.com', paths: [{ path: '/', pathType: 'Prefix', backend: b('web') }] }] }),
    ],
  });
  const p = planLab(s);
  const checks = ingressChecks(p, proxyInputs(p, () => true));
  const find = (needle: string) => checks.find((c) => c.name.includes(needle))?.probes[0] as Extract<import('../../../dist/verify/checks.js').Probe, { kind: 'ingress' }> | undefined;
  t.match(find('http://rw.example.com/api/kube-netlab:'), { expect: { status: 404, target: '/kube-netlab', pods: ['web-a', 'web-b'] } }, 'the backend gets the rewritten path (and answers its own 404 for it)');
  t.match(find('http://rw.example.com/api:'), { expect: { status: 200, target: '/' } });
  t.match(find('http://open.example.com/:'), { expect: { status: 200 } }, 'ssl-redirect false: plain HTTP is served');
  t.match(find('http://closed.example.com/:'), { expect: { status: 403 } }, 'the external client is outside the allowlist');
  const share = find('http://canary.example.com/:')! as IngressProbe;
  t.equal(share.count, 66, '20% is told from 80% in 66 requests');
  t.same(share.expect.each, [['web-a', 'web-b'], ['next']]);
  t.same(share.expect.share, { canary: ['next'], share: 0.2, min: 1, max: 31 }, 'the canary answers 1-31 of the 66');
  t.match(checks.find((c) => c.probes[0] === share)?.name, /canary canary takes 20%: both answer in 66 requests, the canary 1-31 of them$/);
  t.match(find('http://canary.example.com/ X-Canary: always:'), { expect: { pods: ['next'] } }, 'the canary header');
  t.match(find('http://canary.example.com/ Cookie: beta=always:'), { expect: { pods: ['next'] } }, 'the canary cookie');
  const noCanary = ingressChecks(p, proxyInputs(p, (key) => !key.startsWith('default/next')));
  const none = noCanary.find((c) => c.name.includes('http://canary.example.com/ X-Canary: always:'))?.probes[0] as { expect: { pods?: string[] } } | undefined;
  t.same(none?.expect.pods, ['web-a', 'web-b'], 'a canary without ready endpoints takes nothing, even asked by header');
  t.match(find('http://sticky.example.com/:'), { count: 6, cookies: true, expect: { samePod: true } });
  t.match(find('https://grpc.example.com/:'), { grpc: true, expect: { status: 200 } });
});

t.test('P8 canary share: a binomial region around weight/100 x n, failing a right split once in a million runs', async (t) => {
  t.same(binomialPmf(4, 0.5).map((x) => Math.round(x * 16 * 1e9) / 1e9), [1, 4, 6, 4, 1]);
  t.ok(Math.abs(binomialPmf(200, 0.07).reduce((a, b) => a + b, 0) - 1) < 1e-9, 'the probabilities sum to 1');

  for (const weight of [1, 10, 20, 30, 50, 80, 99]) {
    const s = weight / 100;
    const r = canaryRequests(s);
    const pmf = binomialPmf(r.n, s);
    const outside = pmf.reduce((a, p, k) => (k < r.min || k > r.max ? a + p : a), 0);
    t.ok(outside <= 1e-6, `${weight}%: a right split leaves the region with probability ${outside.toExponential(2)} <= 1e-6`);
    t.ok(r.min <= Math.round(s * r.n) && Math.round(s * r.n) <= r.max, `${weight}%: the region holds weight/100 x n`);
  }
  /** Whether n requests show share s: both sides inside the region, and a split the wrong way round (1 - s) passing at most once in a million runs. */
  const shows = (n: number, s: number) => {
    const { min, max } = shareRegion(n, s);
    const swapped = binomialPmf(n, 1 - s).reduce((a, p, k) => (k >= min && k <= max ? a + p : a), 0);
    return min >= 1 && max <= n - 1 && swapped <= 1e-6;
  };
  for (const weight of [10, 20, 30, 80]) {
    const { n } = canaryRequests(weight / 100);
    t.ok(shows(n, weight / 100) && !shows(n - 1, weight / 100), `${weight}%: ${n} requests, the fewest that tell it from ${100 - weight}%`);
  }
  t.match(canaryRequests(0.3), { n: 134, both: true }, 'three tenths: told from seven tenths in 134');
  t.match(canaryRequests(0.5), { n: 21, min: 1, max: 20, both: true }, 'one half: both sides answer in 21 requests');
  t.match(shareRegion(20, 0.5), { min: 0 }, 'and 20 would not show it');
  t.match(canaryRequests(0.4), { n: 29, min: 1, max: 24, both: true }, 'two fifths: telling it from three fifths needs more than 200 requests; the fewest where both sides answer');
  t.match(canaryRequests(0.01), { n: 20, min: 0, max: 5, both: false }, 'a share too small to be seen in 200 requests: 20, and a canary taking much more fails');

  const expect = { canary: ['next'], share: 0.2, ...canaryRequests(0.2) };
  const answers = (fromCanary: number, n = expect.n) => Array.from({ length: n }, (_, i) => (i < fromCanary ? 'next' : i % 2 ? 'web-a' : 'web-b'));
  t.equal(shareProblem(expect, answers(13)), undefined, 'a right split (13 of 66) passes');
  t.equal(shareProblem(expect, answers(1)), undefined, 'and so does its rare low end');
  t.equal(shareProblem(expect, answers(31)), undefined, 'and its rare high end');
  t.equal(shareProblem(expect, answers(53)), 'the canary (next) answered 53 of 66; a 20% share answers 1-31 but once in a million runs', 'a 20% canary taking 80% fails');
  t.match(shareProblem(expect, answers(32)), /answered 32 of 66/, 'one past the region fails');
  t.match(shareProblem(expect, answers(0)), /answered 0 of 66/, 'a canary that never answers fails');
  t.match(shareProblem(expect, [...answers(13).slice(1), undefined]), undefined, "nginx's own answers count for no side");
});
