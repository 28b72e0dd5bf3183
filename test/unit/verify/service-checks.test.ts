import t from 'tap';
import type { ProxyNodeInput, ProxyServicePort } from '../../../dist/model/services.js';
import { planLab } from '../../../dist/model/plan.js';
import { serviceChecks } from '../../../dist/verify/service-checks.js';
import { labSpec, pod } from '../../helpers/spec.js';

// Four pods of the file on node1, node2, node3, node1; the cluster DNS add-on's two land on node2 and node3.
const plan = planLab(labSpec({ pods: ['a', 'b', 'c', 'd'].map((n) => pod('default', n)) }));
const ip = (name: string) => plan.pods.find((p) => p.name === name)!.ip;
const nodeOf = (name: string) => plan.pods.find((p) => p.name === name)!.node;

function port(over: Partial<ProxyServicePort>, endpoints: string[]): (node: string) => ProxyServicePort {
  return (node) => ({
    namespace: 'default',
    service: 'web',
    portName: 'http',
    protocol: 'TCP',
    clusterIP: '10.96.0.11',
    port: 80,
    loadBalancerIPs: [],
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    ...over,
    endpoints: endpoints.map((e) => ({ ip: ip(e), port: 8080, nodeName: nodeOf(e), isLocal: nodeOf(e) === node })),
  });
}

function inputs(ports: ((node: string) => ProxyServicePort)[]): ProxyNodeInput[] {
  return plan.nodes.map((n) => ({ node: n.name, nodeIP: n.ip, clusterCIDR: '10.244.0.0/16', masqueradeBit: 14, services: ports.map((p) => p(n.name)) }));
}

t.test('ClusterIP from every pod, spread, hairpin and the outside', async (t) => {
  const checks = serviceChecks(plan, inputs([port({}, ['a', 'b'])]));
  const names = checks.map((c) => c.name);
  t.equal(names.filter((n) => n.startsWith('P5 pod ')).length, 6, 'one per pod, the cluster DNS pods too');
  t.ok(names.includes('P6 service default/web:http (10.96.0.11:80/TCP): all 2 endpoints answer within 30 requests from default/c'));
  const hairpin = checks.find((c) => c.name.startsWith('P5 hairpin'))!;
  t.match(hairpin.name, /pod default\/a reaches itself .* masqueraded to 10\.244\.0\.1 \(cbr0\)/);
  t.match(hairpin.probes[0], { kind: 'service', mustSee: ['a'], clientIP: { equals: '10.244.0.1', onlyFrom: 'a' } });
  const fromC = checks.find((c) => c.name.startsWith('P5 pod default/c '))!;
  t.match(fromC.probes[0], { kind: 'service', tries: 1, allowed: ['a', 'b'], clientIP: { equals: ip('c'), unlessFrom: 'c' } });
  t.same(
    checks.filter((c) => c.path === 'P13').map((c) => c.probes[0]!.kind),
    ['refused', 'refused', 'refused', 'unreachable'],
    'port 80 of every node refused, the ClusterIP unreachable from outside',
  );
});

t.test('no endpoints, internalTrafficPolicy Local, UDP and affinity', async (t) => {
  const checks = serviceChecks(
    plan,
    inputs([
      port({ service: 'none', portName: '' }, []),
      port({ service: 'itp', portName: '', internalPolicyLocal: true }, ['a']),
      port({ service: 'dns', portName: 'dns', protocol: 'UDP', port: 53 }, ['b']),
      port({ service: 'sticky', portName: '', affinityTimeoutSeconds: 10800 }, ['a', 'b']),
    ]),
  );
  const kindsOf = (prefix: string) => checks.filter((c) => c.name.includes(prefix)).map((c) => c.probes[0]!.kind);
  t.same(kindsOf('service default/none '), ['refused', 'refused', 'refused', 'refused', 'refused', 'refused']);
  const itp = checks.filter((c) => c.name.startsWith('P5 pod') && c.name.includes('service default/itp '));
  t.same(itp.map((c) => c.probes[0]!.kind).sort(), ['dropped', 'dropped', 'dropped', 'dropped', 'service', 'service'], 'pods on node1 (a, d) reach the local endpoint, others are dropped');
  t.same(kindsOf('service default/dns'), ['udp-echo'], 'UDP once, from the first pod');
  const sticky = checks.find((c) => c.name.includes('sessionAffinity ClientIP'))!;
  t.match(sticky.probes[0], { sameEndpoint: true, tries: 10 });
  t.notOk(checks.some((c) => c.name.startsWith('P6 service default/sticky') && c.name.includes('all 2 endpoints')), 'no spread check under affinity');
});

t.test('NodePort: from each node and from outside, by externalTrafficPolicy', async (t) => {
  const checks = serviceChecks(plan, inputs([port({ service: 'np', nodePort: 30080, externalPolicyLocal: true, healthCheckNodePort: 30500 }, ['a']), port({ service: 'cl', nodePort: 30081 }, ['b'])]));
  t.same(
    checks.filter((c) => c.name.includes('health check')).map((c) => [c.name.replace(/.* health check /, ''), c.probes[0]]),
    [
      ['192.168.56.11:30500: 200, 1 local endpoint(s) on node1', { kind: 'http-status', from: { netns: plan.internet.clients[0]!.netns, label: 'external' }, ip: '192.168.56.11', port: 30500, status: 200, body: '"localEndpoints":1' }],
      ['192.168.56.12:30500: 503, no local endpoint on node2', { kind: 'http-status', from: { netns: plan.internet.clients[0]!.netns, label: 'external' }, ip: '192.168.56.12', port: 30500, status: 503, body: '"localEndpoints":0' }],
      ['192.168.56.13:30500: 503, no local endpoint on node3', { kind: 'http-status', from: { netns: plan.internet.clients[0]!.netns, label: 'external' }, ip: '192.168.56.13', port: 30500, status: 503, body: '"localEndpoints":0' }],
    ],
  );
  const ext = checks.filter((c) => c.name.startsWith('P6 external -> service default/np') && c.name.includes('NodePort'));
  t.same(
    ext.map((c) => [c.name.match(/NodePort ([\d.]+):/)![1], c.probes[0]!.kind]),
    [
      ['192.168.56.11', 'service'],
      ['192.168.56.12', 'dropped'],
      ['192.168.56.13', 'dropped'],
    ],
  );
  t.match(ext[0]!.probes[0], { clientIP: { equals: '203.0.113.10' }, allowed: ['a'] });
  const cluster = checks.filter((c) => c.name.startsWith('P6 external -> service default/cl'));
  t.ok(cluster.every((c) => c.name.endsWith('source NATed to the node')));
  t.match(cluster[0]!.probes[0], { clientIP: { not: '203.0.113.10' } });
  t.equal(checks.filter((c) => c.name.includes('(from the node itself)')).length, 6);
});
