/**
 * NetworkPolicy on real namespaces (one test file per proxy mode and
 * backend): the upstream x/y/z model lab runs cases of the e2e truth-table
 * suite through `apply` (policies and labels changed live) and `verify`,
 * which measures every cell through pod IPs and per-pod ClusterIPs; every
 * cell must match upstream's expectation and the engine's prediction. Also:
 * an open connection across a policy change, hostNetwork pods, egress to an
 * external server by ipBlock, only the nodes whose rules change rewritten,
 * and nothing left in the root namespace or after `down`.
 */
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { openClientSocket } from '../../dist/kernel/ffi.js';
import type { Plan } from '../../dist/model/types.js';
import { upstreamCases } from '../fixtures/netpol/upstream-cases.js';
import type { CaseStep } from '../fixtures/netpol/upstream-cases.js';
import { cli, isRoot, labName, tempDir } from './cli.js';
import { leftovers, rootSnapshot } from './host.js';
import { labDocument, modelManifests, reachabilityTests, substitute } from './netpol-model.js';

/** 16 cases of the reference and the upstream suite (at least 15 asked): selectors, ports, named ports, egress, ipBlock, stacking, live updates, UDP. */
export const CASES = [
  'default-deny-ingress',
  'default-deny-all',
  'podselector-or-nsselector',
  'podselector-and-nsselector',
  'ports',
  'stacked-policies-overlapping-podselectors',
  'ingress-one-named-port',
  'egress-one-named-port',
  'updated-policy',
  'ingress-from-updated-namespace',
  'ingress-from-updated-pod',
  'deny-ingress-to-updated-pod',
  'ingress-and-egress-together',
  'egress-cidr-except',
  'stop-enforcing-after-delete',
  'udp-ports',
];

/** Around the model: an external server pair and a hostNetwork pod in a namespace of its own (not a row of the model's tests). */
function extras(name: string, backend: string, mode: string): string {
  return `${labDocument(name, backend, mode)}  external:
    cidr: 203.0.113.0/24
    servers:
      - {name: allowed.example.net, address: 203.0.113.50, ports: [80]}
      - {name: other.example.net, address: 203.0.113.51, ports: [80]}
---
apiVersion: v1
kind: Namespace
metadata: {name: h}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: h, labels: {pod: agent}}
spec:
  nodeName: node2
  hostNetwork: true
  containers: [{name: c, ports: [{name: metrics, containerPort: 9100}]}]
---
# Replicas a policy of x admits by label: scaling it must reach the policy's peer sets.
apiVersion: apps/v1
kind: Deployment
metadata: {name: w, namespace: h}
spec:
  replicas: 1
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec:
      containers: [{name: c}]
---
# x/a from the outside: a LoadBalancer (and so a NodePort) whose only endpoint is x/a.
apiVersion: v1
kind: Service
metadata: {name: a-public, namespace: x}
spec:
  type: LoadBalancer
  selector: {pod: a}
  ports: [{port: 80}]
`;
}

const policy = (ns: string, name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}\n`;

interface CellJson {
  name: string;
  ok: boolean;
  expected: string;
  predicted: string;
  measured: string;
  outcome?: string;
  reason: string;
  kernel?: string[];
}

interface VerifyJson {
  reachability?: { name: string; cells: CellJson[] }[];
  checks: { name: string; ok: boolean; details: string[] }[];
}

export function netpolSuite(t: Test, mode: 'iptables' | 'nftables', backend: string): void {
  if (!isRoot) {
    t.skip('integration tests need root (network namespaces)');
    return;
  }
  const lab = labName(`np${mode.slice(0, 2)}${backend.slice(0, 2)}`);
  const dir = tempDir();
  const labFile = join(dir, 'lab.yaml');
  const files = (...docs: [string, string][]) => docs.map(([file, text]) => (writeFileSync(join(dir, file), text), ['-f', join(dir, file)])).flat();
  const before = rootSnapshot();
  t.teardown(() => {
    cli(['down', '--name', lab]);
  });
  writeFileSync(labFile, extras(lab, backend, mode));

  const apply = (step: Pick<CaseStep, 'namespaceLabels' | 'podLabels'>, policies: string[], tests = '') => {
    const args = ['apply', '-f', labFile, ...files(['model.yaml', modelManifests(step)]), ...files(['policies.yaml', policies.join('---\n') || '# none\n'])];
    if (tests) args.push(...files(['tests.yaml', tests]));
    return cli(args);
  };
  const verifyJson = (only: string) => {
    const r = cli(['verify', '--name', lab, '--only', only, '-o', 'json']);
    return { code: r.code, report: JSON.parse(r.stdout || '{}') as VerifyJson, stderr: r.stderr };
  };
  const status = () => JSON.parse(readFileSync(`/run/kube-netlab/${lab}/plan.json`, 'utf8')) as Plan;

  t.test('up: the model lab', async (t) => {
    const up = cli(['up', '-f', labFile, ...files(['model.yaml', modelManifests()])]);
    t.equal(up.code, 0, up.stderr);
  });

  const agentPid = () => (JSON.parse(readFileSync(`/run/kube-netlab/${lab}/agent.json`, 'utf8')) as { pid: number }).pid;
  let pid = 0;

  t.test('upstream cases: every cell as upstream expects and as the engine predicts, through pod IPs and ClusterIPs', async (t) => {
    pid = agentPid();
    for (const id of CASES) {
      const c = upstreamCases.find((x) => x.id === id);
      t.ok(c, `case ${id} exists`);
      if (!c) continue;
      for (const [s, step] of c.steps.entries()) {
        const plan = status();
        const tests = [reachabilityTests(`${id}-pod`, step, 'pod'), reachabilityTests(`${id}-svc`, step, 'service')].filter(Boolean).join('---\n');
        if (!tests) continue;
        const applied = apply(step, step.policies.map((p) => substitute(p, plan)), tests);
        t.equal(applied.code, 0, `${id} step ${s}: apply ${applied.stderr}`);
        const v = verifyJson('reachability');
        const cells = (v.report.reachability ?? []).flatMap((r) => r.cells);
        t.ok(cells.length >= 72, `${id} step ${s}: ${cells.length} cells measured`);
        const wrong = cells.filter((x) => !x.ok).map((x) => `${x.name}: expected ${x.expected}, measured ${x.measured} (${x.reason}; ${x.kernel?.join('; ') ?? ''})`);
        t.same(wrong, [], `${id} step ${s}${step.note ? ` (${step.note})` : ''}: every cell as upstream expects`);
        const disagree = cells.filter((x) => x.outcome && x.measured !== x.predicted).map((x) => `${x.name}: predicted ${x.predicted}, measured ${x.measured}`);
        t.same(disagree, [], `${id} step ${s}: the kernel does what the engine predicts`);
        t.equal(v.code, 0, `${id} step ${s}: verify exits 0`);
      }
    }
    t.equal(agentPid(), pid, 'every change was applied live: the agent was never restarted');
  });

  t.test('only the nodes whose rules change are rewritten', async (t) => {
    const plan = status();
    const xa = plan.pods.find((p) => p.key === 'x/a')!;
    t.equal(apply({}, []).code, 0);
    const r = apply({}, [policy('x', 'only-a', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]')]);
    t.equal(r.code, 0, r.stderr);
    const log = readFileSync(`/run/kube-netlab/${lab}/agent.log`, 'utf8').trim().split('\n').filter((l) => l.includes('network policy: '));
    t.match(log.at(-1), new RegExp(`rules of ${xa.node} rewritten`), `a policy isolating x/a touches ${xa.node} alone`);
  });

  t.test('an open connection outlives a policy that starts denying it; new ones are dropped', async (t) => {
    const plan = status();
    const xa = plan.pods.find((p) => p.key === 'x/a')!;
    const yb = plan.pods.find((p) => p.key === 'y/b')!;
    t.equal(apply({}, []).code, 0);
    const socket = new Socket({ fd: openClientSocket(`/run/netns/${yb.netns}`, 'TCP'), readable: true, writable: true });
    // Each answer is collected until its body (the pod's name) has arrived; a connection that stops answering ends the wait after 3 s.
    let received = '';
    let pending: ((s: string) => void) | undefined;
    socket.on('data', (d: Buffer) => {
      received += d.toString();
      if (/\r\n\r\na\n$/.test(received)) pending?.(received);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.connect({ port: 80, host: xa.ip });
    });
    const ask = () =>
      new Promise<string>((resolve) => {
        received = '';
        pending = resolve;
        const timer = setTimeout(() => resolve(received), 3000);
        pending = (s) => {
          clearTimeout(timer);
          resolve(s);
        };
        socket.write(`GET /hostname HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
    t.match(await ask(), /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\na\n$/, 'the connection works before the policy');
    const deny = apply({}, [policy('x', 'deny', '  podSelector: {}\n  ingress: []')]);
    t.equal(deny.code, 0, deny.stderr);
    t.match(await ask(), /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\na\n$/, 'the established connection still gets answers (conntrack: established flows pass)');
    socket.destroy();
    const fresh = cli(['exec', '--name', lab, 'y/b', '--', 'curl', '-sS', '-m', '1', `http://${xa.ip}/`]);
    t.equal(fresh.code, 28, 'a new connection times out: dropped');
  });

  t.test('hostNetwork pods are never isolated; their packets are their node', async (t) => {
    t.equal(apply({}, []).code, 0);
    const plan = status();
    const agent = plan.pods.find((p) => p.key === 'h/agent')!;
    // One model pod on the agent's node and one elsewhere, each in a namespace that admits only namespace h.
    const model = plan.pods.filter((p) => ['x', 'y', 'z'].includes(p.namespace));
    const same = model.find((p) => p.node === agent.node)!;
    const other = model.find((p) => p.node !== agent.node && p.namespace !== same.namespace) ?? model.find((p) => p.node !== agent.node)!;
    const fromH = (ns: string) => policy(ns, 'from-h', '  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: h}}}]}]');
    // A deny-all in h selects only pods with their own namespace: the hostNetwork agent is not among them.
    const r = apply({}, [policy('h', 'deny-all', '  podSelector: {}\n  policyTypes: [Ingress, Egress]'), ...[...new Set([same.namespace, other.namespace])].map(fromH)], `apiVersion: kube-netlab.dev/v1alpha1
kind: ReachabilityTest
metadata: {name: host-network}
spec:
  from: [{pod: h/agent}]
  to: [{pod: h/agent}, {pod: ${same.key}}, {pod: ${other.key}}]
  ports: [{port: 9100}, {port: 80}]
  default: allowed
  expect:
    # From its own node the agent's packets are the node's: never policed.
    - {from: {pod: h/agent}, to: {pod: ${same.key}}, result: allowed}
    # From another node they carry that node's address, which no namespaceSelector admits.
    - {from: {pod: h/agent}, to: {pod: ${other.key}}, result: blocked}
---
apiVersion: kube-netlab.dev/v1alpha1
kind: ReachabilityTest
metadata: {name: to-host-network}
spec:
  from: [{namespace: y}]
  to: [{pod: h/agent}]
  default: allowed
`);
    t.equal(r.code, 0, r.stderr);
    const v = verifyJson('reachability');
    const cells = (v.report.reachability ?? []).flatMap((x) => x.cells);
    t.same(cells.filter((c) => !c.ok).map((c) => `${c.name}: ${c.measured} (${c.reason})`), [], 'measured as expected');
    t.equal(cells.filter((c) => c.name.startsWith('y/') && c.name.includes(' -> h/agent:9100/TCP') && c.measured === 'allowed').length, 3, 'the deny-all of h does not isolate its hostNetwork pod');
    const cell = (key: string) => cells.find((c) => c.name === `h/agent -> ${key}:80/TCP`);
    t.equal(cell(other.key)?.measured, 'blocked', 'from another node the agent is not a pod of h: the namespaceSelector does not admit it');
    t.equal(cell(same.key)?.measured, 'allowed', 'from its own node it is always admitted');
    t.match(cell(same.key)?.reason, /own node/);
  });

  t.test('egress to an external server, allowed and blocked by ipBlock', async (t) => {
    const plan = status();
    const xa = plan.pods.find((p) => p.key === 'x/a')!;
    const r = apply({}, [policy('x', 'egress-out', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.51/32]}}], ports: [{port: 80}]}]')]);
    t.equal(r.code, 0, r.stderr);
    const allowed = cli(['exec', '--name', lab, 'x/a', '--', 'curl', '-sS', '-m', '2', 'http://203.0.113.50/clientip']);
    t.equal(allowed.code, 0, allowed.stderr);
    t.equal(allowed.stdout.trim(), plan.nodes.find((n) => n.name === xa.node)!.ip, 'allowed, and masqueraded to the node after the policy judged the pod');
    t.equal(cli(['exec', '--name', lab, 'x/a', '--', 'curl', '-sS', '-m', '1', 'http://203.0.113.51/']).code, 28, 'the except is dropped');
    t.equal(cli(['exec', '--name', lab, 'x/b', '--', 'curl', '-sS', '-m', '2', 'http://203.0.113.51/']).code, 0, 'x/b is not isolated');
    const v = verifyJson('P11,P12');
    t.equal(v.code, 0, JSON.stringify(v.report.checks.filter((c) => !c.ok), null, 1));
    t.ok(v.report.checks.some((c) => /^P11 x\/a -> \S+:\d+\/TCP allowed: allowed by x\/egress-out egress\[0\]\.to\[0\]/.test(c.name)), 'P11 shows an allowed connection named after the rule');
    t.ok(v.report.checks.some((c) => /^P11 x\/a -> \S+:\d+\/\w+ blocked: x\/a is isolated for egress by x\/egress-out/.test(c.name)), 'and a blocked one');
  });

  t.test('the rules a user reads', async (t) => {
    const r = apply({}, [policy('x', 'deny', '  podSelector: {}\n  ingress: []')]);
    t.equal(r.code, 0, r.stderr);
    const node = status().pods.find((p) => p.key === 'x/a')!.node;
    if (mode === 'iptables') {
      const filter = cli(['exec', '--name', lab, `node/${node}`, '--', 'iptables-save', '-t', 'filter']).stdout;
      t.match(filter, /^-A FORWARD -m comment --comment "kube-netlab network policy" -j NETPOL-FORWARD$/m);
      t.ok(filter.indexOf('-j NETPOL-FORWARD') < filter.indexOf('-j KUBE-FORWARD'), 'the policy comes before kube-proxy accepts anything');
      t.match(filter, /-m comment --comment "x\/a is isolated for ingress by x\/deny; no rule allows it" -j DROP/);
    } else {
      const nft = cli(['exec', '--name', lab, `node/${node}`, '--', 'nft', 'list', 'table', 'inet', 'kube-netlab-netpol']).stdout;
      t.match(nft, /chain ingress-x\/a \{/);
      t.match(nft, /type filter hook forward priority filter \+ 1; policy accept;/);
      t.match(nft, /drop comment "x\/a is isolated for ingress by x\/deny; no rule allows it"/);
    }
    const np = cli(['get', 'netpol', '--name', lab, '-n', 'x']);
    t.match(np.stdout, /^NAME\s+POD-SELECTOR\s+AGE\ndeny\s+<none>\s+\S+$/m);
    t.match(cli(['get', 'netpol', '--name', lab]).stdout, /^NAMESPACE\s+NAME\s+POD-SELECTOR\s+AGE\nx\s+deny\s+<none>\s+\S+$/m, 'every namespace, with its column');
    const list = JSON.parse(cli(['get', 'netpol', '--name', lab, '-o', 'json']).stdout) as { kind: string; items: unknown[] };
    t.match(list, { kind: 'List', items: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'x' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }] }, '-o json: the object as the API server stores it, policyTypes defaulted');
  });

  t.test('an expectation the kernel contradicts: exit 1, the cell named, the policy rule and the kernel rule that decided it', async (t) => {
    const r = apply({}, [policy('x', 'deny', '  podSelector: {}\n  ingress: []')], `apiVersion: kube-netlab.dev/v1alpha1
kind: ReachabilityTest
metadata: {name: wrong-expectation}
spec:
  from: [{pod: y/b}]
  to: [{pod: x/a}, {pod: y/a}]
  ports: [{port: 80}]
  default: allowed
`);
    t.equal(r.code, 0, r.stderr);
    const junit = join(dir, 'reachability.xml');
    const run = cli(['verify', '--name', lab, '--only', 'reachability', '-o', 'json', '--junit', junit]);
    const v = { code: run.code, report: JSON.parse(run.stdout || '{}') as VerifyJson };
    t.equal(v.code, 1, 'verify exits 1 on a mismatch');
    const cells = (v.report.reachability ?? []).flatMap((x) => x.cells);
    const wrong = cells.find((c) => c.name === 'y/b -> x/a:80/TCP');
    t.match(wrong, { ok: false, expected: 'allowed', predicted: 'blocked', measured: 'blocked' });
    t.match(wrong?.reason, /x\/deny/, 'the policy that decided it');
    t.ok(wrong?.kernel?.some((k) => k.includes('x/a is isolated for ingress by x/deny; no rule allows it')), `the kernel rule whose counter moved: ${wrong?.kernel?.join('; ')}`);
    t.match(cells.find((c) => c.name === 'y/b -> y/a:80/TCP'), { ok: true, measured: 'allowed' }, 'the other cell holds');
    // Each cell is a test case of the JUnit report too (the TAP and JUnit texts are unit-tested in report.test.ts).
    const xml = readFileSync(junit, 'utf8');
    t.match(xml, /<testcase [^>]*name="y\/b -&gt; x\/a:80\/TCP"[^>]*>\s*<failure /, 'the mismatching cell fails in JUnit');
    t.match(xml, /<testcase [^>]*name="y\/b -&gt; y\/a:80\/TCP"[^>]*\/>/, 'the other passes');
  });

  t.test('a LoadBalancer and its NodePort whose endpoint is isolated: policed after the DNAT', async (t) => {
    const plan = status();
    const svc = plan.services.find((s) => s.key === 'x/a-public')!;
    const xaNode = plan.nodes.find((n) => n.name === plan.pods.find((p) => p.key === 'x/a')!.node)!;
    const urls = [`http://${svc.loadBalancerIP}/hostname`, `http://${xaNode.ip}:${svc.ports[0]!.nodePort}/hostname`];
    const curl = (url: string, seconds: string) => cli(['exec', '--name', lab, 'external', '--', 'curl', '-sS', '-m', seconds, url]);
    // x/deny (the test before left it in place) isolates x/a.
    for (const url of urls) t.equal(curl(url, '1').code, 28, `${url} is dropped by x/deny once DNATed to x/a`);
    t.equal(apply({}, []).code, 0);
    for (const url of urls) t.equal(curl(url, '3').stdout.trim(), 'a', `without the policy ${url} reaches x/a`);
  });

  t.test('scale: a new replica joins the peer sets of the policies that select it, without a restart', async (t) => {
    const admitW = policy('x', 'from-w', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: h}}, podSelector: {matchLabels: {app: w}}}]}]');
    const r = apply({}, [admitW]);
    t.equal(r.code, 0, r.stderr);
    const pid = agentPid();
    const xa = status().pods.find((p) => p.key === 'x/a')!;
    const replicas = () => status().pods.filter((p) => p.namespace === 'h' && p.name.startsWith('w-')).map((p) => p.key);
    const [first] = replicas();
    t.equal(cli(['exec', '--name', lab, first!, '--', 'curl', '-sS', '-m', '3', `http://${xa.ip}/hostname`]).stdout.trim(), 'a', 'the first replica is admitted');
    const scaled = cli(['scale', '--name', lab, '-n', 'h', 'deploy/w', '--replicas', '2']);
    t.equal(scaled.code, 0, scaled.stderr);
    const added = replicas().find((k) => k !== first);
    t.ok(added, 'a second replica exists');
    t.equal(cli(['exec', '--name', lab, added!, '--', 'curl', '-sS', '-m', '3', `http://${xa.ip}/hostname`]).stdout.trim(), 'a', 'the new replica is admitted: its address joined the peer set');
    t.equal(agentPid(), pid, 'applied live');
  });

  t.test('down leaves nothing, and the root namespace was never touched', async (t) => {
    t.equal(cli(['down', '--name', lab]).code, 0);
    t.same(leftovers(lab), []);
    t.same(rootSnapshot(), before);
  });
}
