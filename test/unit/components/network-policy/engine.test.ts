/**
 * The policy engine: the reference's public cases (each written out here,
 * independent of the upstream fixture), the exceptions upstream
 * implementations agree on, endPort, policyTypes defaulting, ipBlock
 * `except`, ICMP, and the reasons it gives.
 */
import t from 'tap';
import { parseLab } from '../../../../dist/config/index.js';
import { planLab } from '../../../../dist/model/plan.js';
import { PolicyEngine, hostSourceToward, podParty, type Protocol } from '../../../../dist/components/network-policy/engine.js';
import type { Plan } from '../../../../dist/model/types.js';
import { MODEL_PODS, labDocument, modelManifests } from '../../../helpers/netpol-model.js';

const policy = (ns: string, name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}\n`;

function lab(policies: string[], extra = '', backend = 'host-gw'): { plan: Plan; engine: PolicyEngine } {
  const text = [labDocument('m', backend, 'iptables'), modelManifests(), ...policies, ...(extra ? [extra] : [])].join('---\n');
  const plan = planLab(parseLab([{ file: 'm.yaml', text }]));
  return { plan, engine: PolicyEngine.fromPlan(plan) };
}

/** The keys `from -> to` (self left out) the engine blocks for one port. */
function blocked(l: { plan: Plan; engine: PolicyEngine }, port: number, protocol: Protocol = 'TCP'): string[] {
  const pods = new Map(l.plan.pods.map((p) => [p.key, p]));
  const out: string[] = [];
  for (const from of MODEL_PODS) {
    for (const to of MODEL_PODS) {
      if (from === to) continue;
      if (!l.engine.decide({ kind: 'pod', pod: pods.get(from)! }, { kind: 'pod', pod: pods.get(to)! }, port, protocol).allowed) out.push(`${from} -> ${to}`);
    }
  }
  return out;
}

/** Every non-self cell whose source and destination match. */
const cells = (from: (k: string) => boolean, to: (k: string) => boolean) =>
  MODEL_PODS.flatMap((f) => MODEL_PODS.filter((x) => x !== f && from(f) && to(x)).map((x) => `${f} -> ${x}`));
const inNs = (ns: string) => (k: string) => k.startsWith(`${ns}/`);
const is = (...keys: string[]) => (k: string) => keys.includes(k);
const not = (f: (k: string) => boolean) => (k: string) => !f(k);
const any = () => true;

const denyIngressX = policy('x', 'deny', '  podSelector: {}\n  ingress: []');
const onlyYOn81 = policy('x', 'y-81', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{protocol: TCP, port: 81}]}]');

t.test('reference public cases', async (t) => {
  t.same(blocked(lab([denyIngressX]), 80), cells(any, inNs('x')), '1: default-deny-ingress blocks every -> x/*');
  t.same(
    blocked(lab([policy('x', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress: []\n  egress: []')]), 80),
    cells(any, any).filter((c) => c.includes('x/')),
    '2: default-deny-all blocks to and from x/*',
  );
  t.same(blocked(lab([policy('x', 'a-from-b', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]')]), 80), cells(not(is('x/b')), is('x/a')), '3: podSelector alone is the policy namespace');
  t.same(
    blocked(lab([denyIngressX, policy('x', 'a-all', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {}, namespaceSelector: {}}]}]')]), 80),
    cells(any, is('x/b', 'x/c')),
    '4: x/a open to all, x/b and x/c closed',
  );
  t.same(blocked(lab([policy('x', 'a-ns', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {}}]}]')]), 80), [], '5: namespaceSelector {} admits every pod');
  t.same(
    blocked(lab([policy('x', 'a-y', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]')]), 80),
    cells(not(inNs('y')), is('x/a')),
    '6: only y/* reach x/a',
  );
  const notX = '{key: ns, operator: NotIn, values: [x]}';
  t.same(
    blocked(lab([policy('x', 'or', `  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [${notX}]}}, {podSelector: {matchLabels: {pod: b}}}]}]`)]), 80),
    ['x/c -> x/a'],
    '7: two peers are OR-ed',
  );
  t.same(
    blocked(lab([policy('x', 'and', `  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [${notX}]}, podSelector: {matchLabels: {pod: b}}}]}]`)]), 80),
    cells(not(is('y/b', 'z/b')), is('x/a')),
    '8: selectors in one peer are AND-ed',
  );
  const ports = lab([onlyYOn81]);
  t.same(blocked(ports, 81), cells(not(inNs('y')), is('x/a')), '9: port 81 only from y');
  t.same(blocked(ports, 80), cells(any, is('x/a')), '9: port 80 from nobody');
  const stacked = lab([onlyYOn81, policy('x', 'y-80', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{protocol: TCP, port: 80}]}]')]);
  t.same(blocked(stacked, 80), cells(not(inNs('y')), is('x/a')), '10: stacked policies add port 80');
  t.same(blocked(stacked, 81), cells(not(inNs('y')), is('x/a')), '10: and keep port 81');
  const named = lab([policy('x', 'named', '  podSelector: {}\n  ingress: [{ports: [{port: serve-81-tcp}]}]')]);
  t.same(blocked(named, 81), [], '11: the named port 81 is open to all');
  t.same(blocked(named, 80), cells(any, inNs('x')), '11: port 80 is closed');
  const egress = lab([policy('x', 'egress-named', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: serve-80-tcp}]}]')]);
  t.same(blocked(egress, 80), [], '12: egress on the named port 80 is open');
  t.same(blocked(egress, 81), cells(inNs('x'), any), '12: x/* cannot send to 81');
});

t.test('policyTypes defaulting: egress rules make a policy isolate both ways', async (t) => {
  const l = lab([policy('x', 'e', '  podSelector: {matchLabels: {pod: a}}\n  egress: [{to: [{namespaceSelector: {}}]}]')]);
  t.same(l.plan.spec.networkPolicies[0]!.policyTypes, ['Ingress', 'Egress']);
  t.same(blocked(l, 80), cells(any, is('x/a')), 'no ingress rule: x/a admits nothing');
  const empty = lab([policy('x', 'e', '  podSelector: {matchLabels: {pod: a}}\n  egress: []')]);
  t.same(empty.plan.spec.networkPolicies[0]!.policyTypes, ['Ingress'], 'an empty egress list adds no Egress type');
});

t.test('endPort is an inclusive range of its protocol', async (t) => {
  const l = lab([policy('x', 'range', '  podSelector: {}\n  ingress: [{ports: [{protocol: TCP, port: 79, endPort: 80}]}]')]);
  t.same(blocked(l, 80), [], '80 is inside 79-80');
  t.same(blocked(l, 81), cells(any, inNs('x')), '81 is outside');
  t.same(blocked(l, 80, 'UDP'), cells(any, inNs('x')), 'the range is TCP only');
});

t.test('ipBlock with except matches pod addresses too', async (t) => {
  const base = lab([]);
  const xb = base.plan.pods.find((p) => p.key === 'x/b')!.ip;
  const l = lab([policy('x', 'block', `  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{ipBlock: {cidr: 10.244.0.0/16, except: [${xb}/32]}}]}]`)]);
  t.same(blocked(l, 80), ['x/b -> x/a']);
  const d = l.engine.decide(podParty(l.plan.pods.find((p) => p.key === 'x/b')!), podParty(l.plan.pods.find((p) => p.key === 'x/a')!), 80, 'TCP');
  t.match(d.reason, /x\/a is isolated for ingress by x\/block, no rule allows from x\/b/);
});

t.test('exceptions: self, own node, hostNetwork, non-pods', async (t) => {
  const host = `apiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: x, labels: {pod: a}}\nspec:\n  nodeName: node2\n  hostNetwork: true\n  containers: [{name: c, ports: [{containerPort: 9100}]}]\n`;
  const l = lab([policy('x', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress, Egress]')], host, 'vxlan');
  const pod = (k: string) => l.plan.pods.find((p) => p.key === k)!;
  const xa = pod('x/a');
  const self = l.engine.decide(podParty(xa), podParty(xa), 80, 'TCP');
  t.ok(self.allowed, self.reason);
  t.match(self.reason, /to itself/);
  const node = l.plan.nodes.find((n) => n.name === xa.node)!;
  const fromNode = l.engine.decide(hostSourceToward(l.plan, node, xa, `node/${node.name}`), podParty(xa), 80, 'TCP');
  t.ok(fromNode.allowed, `from its own node: ${fromNode.reason}`);
  const other = l.plan.nodes.find((n) => n.name !== xa.node)!;
  const fromOther = hostSourceToward(l.plan, other, xa, `node/${other.name}`);
  t.equal(fromOther.kind === 'host' && fromOther.ip, other.podCIDR.split('/')[0], 'another node sends from its VTEP address with vxlan');
  t.notOk(l.engine.decide(fromOther, podParty(xa), 80, 'TCP').allowed, 'another node is policed like any address');
  const toOwnNode = l.engine.decide(podParty(xa), l.engine.partyAt(node.ip), 6443, 'TCP');
  t.ok(toOwnNode.allowed, `to its own node: ${toOwnNode.reason}`);
  t.notOk(l.engine.decide(podParty(xa), l.engine.partyAt(other.ip), 6443, 'TCP').allowed, 'to another node is egress like any address');
  const agent = pod('x/agent');
  t.same(l.engine.isolatedBy(agent, 'ingress'), [], 'a hostNetwork pod is never selected');
  const toAgent = l.engine.decide(podParty(pod('y/b')), podParty(agent), 9100, 'TCP');
  t.ok(toAgent.allowed, toAgent.reason);
});

t.test('ICMP matches only rules without ports', async (t) => {
  const l = lab([policy('x', 'web', '  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80}]}, {from: [{namespaceSelector: {matchLabels: {ns: z}}}]}]')]);
  const pod = (k: string) => podParty(l.plan.pods.find((p) => p.key === k)!);
  t.notOk(l.engine.decide(pod('y/a'), pod('x/a'), undefined, 'ICMP').allowed, 'y may only use TCP 80');
  t.ok(l.engine.decide(pod('z/a'), pod('x/a'), undefined, 'ICMP').allowed, 'z may use anything');
});

t.test('reasons name the policy and rule', async (t) => {
  const l = lab([denyIngressX, onlyYOn81]);
  const pod = (k: string) => podParty(l.plan.pods.find((p) => p.key === k)!);
  const ok = l.engine.decide(pod('y/b'), pod('x/a'), 81, 'TCP');
  t.same(ok.ingress.allowedBy, { policy: 'x/y-81', rule: 'ingress[0].from[0]' });
  t.equal(ok.reason, 'no policy isolates y/b for egress; allowed by x/y-81 ingress[0].from[0]');
  const port = l.engine.decide(pod('y/b'), pod('x/a'), 80, 'TCP');
  t.equal(port.reason, 'x/a is isolated for ingress by x/deny, x/y-81, no rule allows 80/TCP from y/b (namespace y) (x/y-81 ingress[0].from[0] admits it only on 81/TCP)');
  const none = l.engine.decide(pod('y/b'), pod('x/b'), 80, 'TCP');
  t.equal(none.reason, 'x/b is isolated for ingress by x/deny, no ingress rule allows anything');
});
