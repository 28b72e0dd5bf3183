/**
 * `verify` under NetworkPolicies, on the upstream x/y/z model: P11 (one
 * allowed and one blocked connection per isolated pod and direction, named
 * after the deciding policy and rule), and the other checks, which pick
 * pairs the policies allow and expect the drops they predict. Without a
 * policy nothing changes.
 */
import t from 'tap';
import { parseLab } from '../../../dist/config/index.js';
import { proxyInputs } from '../../../dist/model/endpoints.js';
import { planLab } from '../../../dist/model/plan.js';
import type { Plan } from '../../../dist/model/types.js';
import {
  allChecks,
  containerChecks,
  crossNodeChecks,
  daemonChecks,
  encapsulationChecks,
  isolationChecks,
  mtuChecks,
  nodeChecks,
  sameNodeChecks,
  type Check,
} from '../../../dist/verify/checks.js';
import { dnsChecks } from '../../../dist/verify/dns-checks.js';
import { ingressChecks } from '../../../dist/verify/ingress-checks.js';
import { outsideInChecks } from '../../../dist/verify/outside-in-checks.js';
import { serviceChecks } from '../../../dist/verify/service-checks.js';
import { labDocument, modelManifests } from '../../helpers/netpol-model.js';

const policy = (ns: string, name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}\n`;
const EXTERNAL = '  external: {cidr: 203.0.113.0/24, servers: [{name: legacy.example.net, address: 203.0.113.50, ports: [80]}]}\n';
// A LoadBalancer in front of x/a, so P6 (NodePorts) and P7 are part of the comparison too.
const LB = 'apiVersion: v1\nkind: Service\nmetadata: {name: lb, namespace: x}\nspec:\n  type: LoadBalancer\n  selector: {pod: a}\n  ports: [{name: http, port: 80, protocol: TCP}]\n';

function lab(policies: string[], extra: string[] = []): { plan: Plan; checks: Check[] } {
  const text = [labDocument('m', 'host-gw', 'iptables') + EXTERNAL, modelManifests(), ...extra, ...policies].join('---\n');
  const plan = planLab(parseLab([{ file: 'm.yaml', text }]));
  return { plan, checks: allChecks(plan, proxyInputs(plan, () => true)) };
}

const podOf = (plan: Plan, key: string) => plan.pods.find((p) => p.key === key)!;
const end = (plan: Plan, key: string) => ({ netns: podOf(plan, key).netns, label: key });
const clusterIP = (plan: Plan, ns: string, name: string) => plan.services.find((s) => s.namespace === ns && s.name === name)!.clusterIP!;
const named = (checks: Check[], name: string) => checks.find((c) => c.name === name);
const names = (checks: Check[], path: string) => checks.filter((c) => c.path === path).map((c) => c.name);
/** The addresses P2 and P3 (pairs, encapsulation, MTU) send to. */
const pairTargets = (checks: Check[]) =>
  checks.filter((c) => ['P2', 'P3', 'P4', 'MTU'].includes(c.path)).flatMap((c) => c.probes.map((p) => ('ip' in p ? p.ip : '')));

const denyIngressX = policy('x', 'deny', '  podSelector: {}\n  ingress: []');
const base = lab([], [LB]);
const xIPs = ['a', 'b', 'c'].map((n) => podOf(base.plan, `x/${n}`).ip);

t.test('without policies: no P11 and exactly the checks the view-less checkers give', async (t) => {
  const { plan, checks } = base;
  t.same(plan.spec.networkPolicies, []);
  t.same(names(checks, 'P11'), []);
  t.ok(checks.some((c) => c.path === 'P7') && checks.some((c) => c.path === 'P12') && checks.some((c) => c.path === 'P10'), 'the comparison covers load balancer, egress and DNS checks');
  const proxy = proxyInputs(plan, () => true);
  const podNetwork: Plan = { ...plan, pods: plan.pods.filter((p) => !p.hostNetwork) };
  const before = [
    ...containerChecks(podNetwork),
    ...sameNodeChecks(podNetwork),
    ...crossNodeChecks(podNetwork),
    ...encapsulationChecks(podNetwork),
    ...mtuChecks(podNetwork),
    ...daemonChecks(plan),
    ...nodeChecks(plan),
    ...isolationChecks(podNetwork),
    ...serviceChecks(podNetwork, proxy, plan.pods),
    ...dnsChecks(podNetwork, () => true),
    ...outsideInChecks(plan, proxy),
    ...ingressChecks(plan, proxy),
  ];
  t.same(checks, before, 'names and probes as without any policy view');
  t.same(allChecks({ ...plan, spec: { ...plan.spec, networkPolicies: [] } }, proxy), checks, 'an explicit empty list');
  t.ok(pairTargets(checks).some((ip) => xIPs.includes(ip)), 'P2/P3 do target x pods without policies');
});

t.test('a policy that selects nothing: no P11, every other check unchanged', async (t) => {
  const { checks } = lab([policy('z', 'nobody', '  podSelector: {matchLabels: {pod: nobody}}\n  policyTypes: [Ingress, Egress]')], [LB]);
  t.same(names(checks, 'P11'), []);
  t.same(checks.map((c) => c.name), base.checks.map((c) => c.name), 'names');
  t.same(checks, base.checks, 'and probes');
});

t.test('default-deny-ingress in x', async (t) => {
  const { plan, checks } = lab([denyIngressX]);
  const why = (pod: string) => `x/${pod} is isolated for ingress by x/deny, no ingress rule allows anything`;
  t.same(names(checks, 'P11'), [`P11 x/b -> x/a:80/TCP blocked: ${why('a')}`, `P11 x/a -> x/b:80/TCP blocked: ${why('b')}`, `P11 x/a -> x/c:80/TCP blocked: ${why('c')}`], 'one blocked check per x pod, no allowed one');
  for (const pod of ['a', 'b', 'c']) {
    const [check, ...more] = checks.filter((c) => c.path === 'P11' && c.name.includes(`-> x/${pod}:`));
    t.same(more, []);
    t.match(check!.name, `blocked: x/${pod} is isolated for ingress by x/deny`);
    const from = pod === 'a' ? 'x/b' : 'x/a';
    t.same(check!.probes, [{ kind: 'connect', from: end(plan, from), ip: podOf(plan, `x/${pod}`).ip, port: 80, protocol: 'TCP', expect: 'blocked' }]);
  }
  const targets = pairTargets(checks);
  t.ok(targets.length > 0);
  t.same(targets.filter((ip) => xIPs.includes(ip)), [], 'P2/P3 never send to an x pod');
  t.equal(checks.filter((c) => c.path === 'P3' && c.name.includes('source IP kept')).length, 6, 'still one P3 pair per ordered node pair');
  t.ok(named(checks, `P2 pod x/a -> y/a on node1 via ${podOf(plan, 'x/a').hostVeth}/cbr0/${podOf(plan, 'y/a').hostVeth}`), 'x pods still send');

  const ip = clusterIP(plan, 'x', 's-x-a');
  const toXa = checks.filter((c) => c.path === 'P5' && c.name.includes('-> service x/s-x-a:service-port-tcp-') && !c.name.startsWith('P5 pod x/a '));
  t.equal(toXa.length, 20, 'every other pod (8 of the model, 2 DNS pods), both TCP ports');
  for (const c of toXa) {
    t.match(c.name, /is dropped by NetworkPolicy: x\/a is isolated for ingress by x\/deny, no ingress rule allows anything$/);
    t.match(c.probes, [{ kind: 'connect', ip, protocol: 'TCP', expect: 'blocked' }]);
  }
  t.same(named(checks, `P5 pod y/b -> service x/s-x-a:service-port-tcp-81 (${ip}:81/TCP) is dropped by NetworkPolicy: ${why('a')}`)?.probes, [
    { kind: 'connect', from: end(plan, 'y/b'), ip, port: 81, protocol: 'TCP', expect: 'blocked' },
  ]);
  t.ok(named(checks, `P5 pod x/a -> service x/s-x-a:service-port-tcp-80 (${ip}:80/TCP) answered by an endpoint, source IP kept`), 'a pod through its own service is its own traffic');
});

t.test('x/a admits namespace y on 81/TCP only', async (t) => {
  const { plan, checks } = lab([policy('x', 'y-81', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{protocol: TCP, port: 81}]}]')]);
  const xa = podOf(plan, 'x/a').ip;
  const p11 = checks.filter((c) => c.path === 'P11');
  t.same(
    p11.map((c) => c.name),
    ['P11 y/a -> x/a:81/TCP allowed: allowed by x/y-81 ingress[0].from[0]', 'P11 x/b -> x/a:80/TCP blocked: x/a is isolated for ingress by x/y-81, no rule allows from x/b (namespace x)'],
  );
  t.same(p11[0]!.probes, [{ kind: 'connect', from: end(plan, 'y/a'), ip: xa, port: 81, protocol: 'TCP', expect: 'allowed' }]);
  t.same(p11[1]!.probes, [{ kind: 'connect', from: end(plan, 'x/b'), ip: xa, port: 80, protocol: 'TCP', expect: 'blocked' }]);

  const ip = clusterIP(plan, 'x', 's-x-a');
  const svc = (from: string, port: number) => checks.find((c) => c.name.startsWith(`P5 pod ${from} -> service x/s-x-a:service-port-tcp-${port} (${ip}:${port}/TCP) `));
  t.equal(svc('y/a', 81)?.name, `P5 pod y/a -> service x/s-x-a:service-port-tcp-81 (${ip}:81/TCP) answered by an endpoint, source IP kept`);
  t.same(svc('y/a', 81)?.probes, [
    { kind: 'service', from: end(plan, 'y/a'), ip, port: 81, tries: 1, allowed: ['a'], mustSee: [], clientIP: { equals: podOf(plan, 'y/a').ip, unlessFrom: 'a' } },
  ]);
  t.equal(
    svc('y/a', 80)?.name,
    `P5 pod y/a -> service x/s-x-a:service-port-tcp-80 (${ip}:80/TCP) is dropped by NetworkPolicy: x/a is isolated for ingress by x/y-81, no rule allows 80/TCP from y/a (namespace y) (x/y-81 ingress[0].from[0] admits it only on 81/TCP)`,
  );
  t.same(svc('y/a', 80)?.probes, [{ kind: 'connect', from: end(plan, 'y/a'), ip, port: 80, protocol: 'TCP', expect: 'blocked' }]);
  t.match(svc('z/c', 81)?.name, /is dropped by NetworkPolicy: x\/a is isolated for ingress by x\/y-81, no rule allows from z\/c \(namespace z\)$/);
  t.same(pairTargets(checks).filter((a) => a === xa), [], 'ping is not admitted: no pair sends to x/a');
});

t.test('x/a may only reach namespace y: P11 egress and P12', async (t) => {
  const { plan, checks } = lab([policy('x', 'a-to-y', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}}]}]')]);
  const p11 = checks.filter((c) => c.path === 'P11');
  t.same(
    p11.map((c) => c.name),
    ['P11 x/a -> y/a:80/TCP allowed: allowed by x/a-to-y egress[0].to[0]', 'P11 x/a -> x/b:80/TCP blocked: x/a is isolated for egress by x/a-to-y, no rule allows to x/b (namespace x)'],
  );
  t.same(p11[0]!.probes, [{ kind: 'connect', from: end(plan, 'x/a'), ip: podOf(plan, 'y/a').ip, port: 80, protocol: 'TCP', expect: 'allowed' }]);
  t.same(p11[1]!.probes, [{ kind: 'connect', from: end(plan, 'x/a'), ip: podOf(plan, 'x/b').ip, port: 80, protocol: 'TCP', expect: 'blocked' }]);

  const server = 'legacy.example.net 203.0.113.50:80';
  t.match(names(base.checks, 'P12')[0], `P12 pod x/a (node1) -> external server ${server}`, 'without policies x/a is node1\'s client');
  t.equal(podOf(plan, 'x/a').node, 'node1');
  const node1 = checks.filter((c) => c.path === 'P12' && c.name.includes('(node1)'));
  t.same(node1.map((c) => c.name), [`P12 pod y/a (node1) -> external server ${server}: leaves with the node IP 192.168.56.11 (ip-masq)`], 'another pod of node1');
  t.same(node1[0]!.probes, [{ kind: 'http', from: end(plan, 'y/a'), ip: '203.0.113.50', port: 80, expect: { pod: 'legacy.example.net', clientIP: '192.168.56.11' } }]);

  t.same(
    checks.filter((c) => c.path === 'P5' && c.name.startsWith('P5 pod x/a -> service z/s-z-c:service-port-tcp-80 ')).map((c) => c.probes[0]),
    [{ kind: 'connect', from: end(plan, 'x/a'), ip: clusterIP(plan, 'z', 's-z-c'), port: 80, protocol: 'TCP', expect: 'blocked' }],
    'a service of z is dropped for x/a',
  );
});

t.test('egress denied in x, y and z: node3 runs only blocked pods, so its P12 expects the drop', async (t) => {
  const deny = (ns: string) => policy(ns, 'no-egress', '  podSelector: {}\n  policyTypes: [Egress]');
  const { plan, checks } = lab(['x', 'y', 'z'].map(deny));
  t.same(
    plan.pods.filter((p) => p.node === 'node3').map((p) => p.key),
    ['x/c', 'y/c', 'z/c'],
  );
  const node3 = checks.filter((c) => c.path === 'P12' && c.name.includes('(node3)'));
  t.same(node3.map((c) => c.name), ['P12 pod x/c (node3) -> external server legacy.example.net 203.0.113.50:80 is dropped by NetworkPolicy: x/c is isolated for egress by x/no-egress, no egress rule allows anything']);
  t.same(node3[0]!.probes, [{ kind: 'connect', from: end(plan, 'x/c'), ip: '203.0.113.50', port: 80, protocol: 'TCP', expect: 'blocked' }]);
  const node1 = checks.find((c) => c.path === 'P12' && c.name.includes('(node1)'))!;
  t.match(node1.name, /^P12 pod kube-system\/coredns-\w+ \(node1\) -> external server .* leaves with the node IP 192\.168\.56\.11 \(ip-masq\)$/, 'the unpoliced DNS pod of node1');
  t.same(
    checks.filter((c) => c.path === 'P11').map((c) => c.name.replace(/:.*/, '')),
    ['x/a', 'x/b', 'x/c', 'y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c'].map((k) => `P11 ${k} -> ${k === 'x/a' ? 'x/b' : 'x/a'}`),
    'one blocked egress check per pod, none allowed',
  );
  t.same(names(checks, 'P10').filter((n) => !n.includes('resolv.conf')), [], 'no pod of the file reaches kube-dns: nothing is resolved');
  t.equal(names(checks, 'P10').filter((n) => n.includes('has the ClusterFirst resolv.conf')).length, 9, 'every pod\'s resolv.conf is still checked');
});

t.test('P10: the DNS clients skip pods that cannot reach kube-dns', async (t) => {
  const resolvesFrom = (checks: Check[], ns: string) => checks.filter((c) => c.path === 'P10' && c.name.includes(` resolves from namespace ${ns} `));
  const from = (checks: Check[], ns: string) => [...new Set(resolvesFrom(checks, ns).flatMap((c) => c.probes.map((p) => (p.kind === 'dns' ? p.from.label : ''))))];
  const plain = lab([]).checks;
  t.same(from(plain, 'y'), ['pod y/a'], 'without policies y/a asks for namespace y');

  const denyY = lab([policy('y', 'no-egress', '  podSelector: {}\n  policyTypes: [Egress]')]);
  t.same(resolvesFrom(denyY.checks, 'y'), [], 'no pod of y reaches kube-dns: y asks nothing');
  t.same(from(denyY.checks, 'x'), ['pod x/a']);
  t.equal(resolvesFrom(denyY.checks, 'x').length, resolvesFrom(plain, 'x').length, 'one per service, as without policies');
  t.ok(named(denyY.checks, 'P10 pod y/a has the ClusterFirst resolv.conf: nameserver 10.96.0.10, search y.svc.cluster.local svc.cluster.local cluster.local, ndots:5'), 'the file is still checked');

  const dnsOnly = (ports: string) => policy('y', 'dns-only', `  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}], ports: [${ports}]}]`);
  t.same(from(lab([dnsOnly('{protocol: UDP, port: 53}, {protocol: TCP, port: 53}')]).checks, 'y'), ['pod y/a'], 'DNS over UDP and TCP allowed: y/a asks again');
  t.same(resolvesFrom(lab([dnsOnly('{protocol: UDP, port: 53}')]).checks, 'y'), [], 'UDP alone is not enough: the checks query over TCP too');

  const aOut = lab([policy('x', 'a-to-y', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}}]}]')]);
  t.same(from(aOut.checks, 'x'), ['pod x/b'], 'x/a cannot reach kube-dns: x/b asks for namespace x');
  t.match(aOut.checks.find((c) => c.name.startsWith('P10 names outside'))!.probes, [{ kind: 'dns', from: { label: 'pod x/b' } }], 'and is the first client');
});
