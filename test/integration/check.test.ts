/**
 * `check` on a running lab (vxlan): clean after `up`; then one object at a
 * time is broken by hand — a route, an fdb entry, a neighbour, a sysctl, a
 * bridge port, an MTU, a veth down, hairpin, an address, a route nobody
 * planned, a kube-proxy rule, a network policy rule — and `check` names
 * exactly that object (exit 1); putting it back by hand makes it clean again
 * (exit 0). A killed daemon is named until the agent restarts it; a flushed
 * chain until `up` rebuilds the lab. The lab is removed even when a check
 * fails.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { checkLab, differenceLine } from '../../dist/check/index.js';
import type { FdbObject, NeighbourObject } from '../../dist/components/objects.js';
import type { Plan } from '../../dist/model/types.js';
import { cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { agentStatus, waitAgentReady } from '../../dist/agent/client.js';
import { isAlive } from '../../dist/kernel/procs.js';
import { processDifferences } from '../../dist/check/agent.js';
import { procDifferences, readProcs } from '../../dist/check/procfs.js';
import { readHolders } from '../../dist/apply/state.js';
import { placeNames } from '../../dist/check/expected.js';
import { labDaemons, labObjects } from '../../dist/components/registry.js';

/** A Service (kube-proxy rules on every node) and a policy isolating the pods of `other` on node2 (network policy rules there). */
const SERVICE_AND_POLICY = `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: other}
spec:
  podSelector: {}
  ingress:
    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 8080}]
`;

/** The rules of one chain in `iptables-save` order, from inside a namespace. */
function rulesOf(netns: string, table: string, chainPrefix: string, pick: RegExp): { chain: string; rule: string; position: number } {
  const save = spawnSync('ip', ['netns', 'exec', netns, 'iptables-save', '-t', table], { encoding: 'utf8' }).stdout.split('\n');
  const line = save.find((l) => l.startsWith(`-A ${chainPrefix}`) && pick.test(l))!;
  const chain = line.split(' ')[1]!;
  const position = save.filter((l) => l.startsWith(`-A ${chain} `)).indexOf(line) + 1;
  return { chain, rule: line.slice(`-A ${chain} `.length), position };
}

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  t.test('check names each broken object, and is clean once it is put back', async (t) => {
    const name = labName('chk');
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--name', name]);
    });
    const file = writeLab(dir, name, smallLab(name, 'vxlan') + SERVICE_AND_POLICY);
    const up = cli(['up', '-f', file]);
    t.equal(up.code, 0, up.stderr);
    const check = () => cli(['check', '--name', name]);
    const clean = check();
    t.equal(clean.code, 0, `clean after up: ${clean.stdout}`);
    t.match(clean.stderr, new RegExp(`lab ${name}: \\d+ objects as the plan says`));

    const plan = JSON.parse(readFileSync(`/run/kube-netlab/${name}/plan.json`, 'utf8')) as Plan;
    const [n1, n2, n3] = plan.nodes;
    const objects = labObjects(plan).map((o) => o.object);
    const fdb = objects.find((o): o is FdbObject => o.kind === 'fdb' && o.netns === n2!.netns)!;
    const neigh = objects.find((o): o is NeighbourObject => o.kind === 'neighbour' && o.netns === n1!.netns)!;
    const pod = plan.pods.find((p) => p.node === n1!.name && !p.hostNetwork && p.namespace === 'default')!;
    // Straight into the namespace (as `exec` does, without a CLI process per command).
    const netnsOf = (target: string) => (target === 'router' ? plan.router.netns : target.startsWith('node/') ? plan.nodes.find((n) => `node/${n.name}` === target)!.netns : plan.pods.find((p) => p.key === target)!.netns);
    const on = (target: string, ...cmd: string[]) => {
      const r = spawnSync('ip', ['netns', 'exec', netnsOf(target), ...cmd], { encoding: 'utf8' });
      t.equal(r.status, 0, `${target}: ${cmd.join(' ')}: ${r.stderr}`);
    };
    const node = (n: { name: string }) => `node/${n.name}`;
    const restore = (netns: string, table: string, line: string) => {
      const r = spawnSync('ip', ['netns', 'exec', netns, 'iptables-restore', '--noflush'], { input: `*${table}\n${line}\nCOMMIT\n`, encoding: 'utf8' });
      t.equal(r.status, 0, `${netns}: ${line}: ${r.stderr}`);
    };
    const sep = rulesOf(n1!.netns, 'nat', 'KUBE-SEP-', /-j DNAT/);
    const policy = rulesOf(n2!.netns, 'filter', 'NETPOL-', /other\/allow-web ingress\[0\]\.from\[0\]/);

    const cases: { what: string; line: string | string[]; brk: () => void; fix: () => void }[] = [
      {
        what: 'a route',
        line: `node1  vxlan  route ${n3!.podCIDR}: missing (expected via ${n3!.podCIDR.split('/')[0]} dev flannel.1 onlink)`,
        brk: () => on(node(n1!), 'ip', 'route', 'del', n3!.podCIDR),
        fix: () => on(node(n1!), 'ip', 'route', 'add', n3!.podCIDR, 'via', n3!.podCIDR.split('/')[0]!, 'dev', 'flannel.1', 'onlink'),
      },
      {
        what: 'an fdb entry',
        line: `node2  vxlan  fdb entry ${fdb.mac} on flannel.1: missing (expected ${fdb.mac} dst ${fdb.dst} self permanent)`,
        brk: () => on(node(n2!), 'bridge', 'fdb', 'del', fdb.mac, 'dev', 'flannel.1', 'dst', fdb.dst, 'self'),
        fix: () => on(node(n2!), 'bridge', 'fdb', 'append', fdb.mac, 'dev', 'flannel.1', 'dst', fdb.dst, 'self', 'permanent'),
      },
      {
        what: 'a neighbour',
        line: `node1  vxlan  neighbour ${neigh.ip} on flannel.1: lladdr 02:00:00:00:00:01 (expected ${neigh.mac})`,
        brk: () => on(node(n1!), 'ip', 'neigh', 'replace', neigh.ip, 'lladdr', '02:00:00:00:00:01', 'dev', 'flannel.1', 'nud', 'permanent'),
        fix: () => on(node(n1!), 'ip', 'neigh', 'replace', neigh.ip, 'lladdr', neigh.mac, 'dev', 'flannel.1', 'nud', 'permanent'),
      },
      {
        what: 'a sysctl',
        line: 'node2  sysctl  sysctl net.ipv4.ip_forward: 0 (expected 1)',
        brk: () => on(node(n2!), 'sysctl', '-qw', 'net.ipv4.ip_forward=0'),
        fix: () => on(node(n2!), 'sysctl', '-qw', 'net.ipv4.ip_forward=1'),
      },
      {
        what: 'a bridge port',
        line: `node1  node  link ${pod.hostVeth}: not attached to cbr0`,
        brk: () => on(node(n1!), 'ip', 'link', 'set', pod.hostVeth, 'nomaster'),
        fix: () => {
          on(node(n1!), 'ip', 'link', 'set', pod.hostVeth, 'master', 'cbr0', 'up');
          on(node(n1!), 'ip', 'link', 'set', pod.hostVeth, 'type', 'bridge_slave', 'hairpin', 'on');
        },
      },
      {
        what: 'an MTU',
        line: 'node3  vxlan  link flannel.1: mtu 1400 (expected 1450)',
        brk: () => on(node(n3!), 'ip', 'link', 'set', 'flannel.1', 'mtu', '1400'),
        fix: () => on(node(n3!), 'ip', 'link', 'set', 'flannel.1', 'mtu', '1450'),
      },
      {
        what: 'a veth down',
        // The kernel drops the routes through a link that goes down: the default route goes with it.
        line: [`pod ${pod.key}  node  link eth0: down (expected up)`, `pod ${pod.key}  pod  route default: missing (expected via ${pod.gateway})`],
        brk: () => on(pod.key, 'ip', 'link', 'set', 'eth0', 'down'),
        fix: () => {
          on(pod.key, 'ip', 'link', 'set', 'eth0', 'up');
          on(pod.key, 'ip', 'route', 'replace', 'default', 'via', pod.gateway);
        },
      },
      {
        what: 'hairpin',
        line: `node1  node  link ${pod.hostVeth}: hairpin off (expected on)`,
        brk: () => on(node(n1!), 'ip', 'link', 'set', pod.hostVeth, 'type', 'bridge_slave', 'hairpin', 'off'),
        fix: () => on(node(n1!), 'ip', 'link', 'set', pod.hostVeth, 'type', 'bridge_slave', 'hairpin', 'on'),
      },
      {
        what: 'an address',
        line: `node2  node  address ${n2!.gateway}/24 on cbr0: missing`,
        brk: () => on(node(n2!), 'ip', 'addr', 'del', `${n2!.gateway}/24`, 'dev', 'cbr0'),
        fix: () => on(node(n2!), 'ip', 'addr', 'add', `${n2!.gateway}/24`, 'dev', 'cbr0'),
      },
      {
        what: 'a route nobody planned',
        line: `router  routes  route 10.96.0.0/12: not in the plan (via ${n1!.ip} dev ${plan.router.bridge})`,
        brk: () => on('router', 'ip', 'route', 'add', '10.96.0.0/12', 'via', n1!.ip),
        fix: () => on('router', 'ip', 'route', 'del', '10.96.0.0/12'),
      },
      {
        what: 'a kube-proxy rule',
        line: `node1  kube-proxy  nat chain ${sep.chain}: 1 rule missing: ${sep.rule}`,
        brk: () => restore(n1!.netns, 'nat', `-D ${sep.chain} ${sep.rule}`),
        fix: () => restore(n1!.netns, 'nat', `-I ${sep.chain} ${sep.position} ${sep.rule}`),
      },
      {
        what: 'a network policy rule',
        line: `node2  network-policy  filter chain ${policy.chain}: 1 rule missing: ${policy.rule}`,
        brk: () => restore(n2!.netns, 'filter', `-D ${policy.chain} ${policy.rule}`),
        fix: () => restore(n2!.netns, 'filter', `-I ${policy.chain} ${policy.position} ${policy.rule}`),
      },
    ];
    // The first through the CLI (its output and exit code), the others in-process: the same code, without a process each.
    const broken = (first: boolean) => (first ? check().stdout.trim().split('\n').filter(Boolean) : checkLab(plan).then((r) => r.differences.map(differenceLine)));
    let first = true;
    for (const c of cases) {
      c.brk();
      if (first) t.equal(check().code, 1, `${c.what}: check exits 1`);
      t.same(await broken(first), Array.isArray(c.line) ? c.line : [c.line], `${c.what}: named exactly`);
      c.fix();
      t.same(await broken(first), [], `${c.what}: clean once put back`);
      first = false;
    }

    // A killed daemon: named while the agent waits to restart it, clean once it has.
    const dns = labDaemons(plan).find((d) => d.module === 'components/cluster-dns' && d.netns !== plan.internet.netns)!;
    const runDir = `/run/kube-netlab/${name}`;
    const pid = (await agentStatus(runDir)).daemons.find((d) => d.name === dns.name)!.pid!;
    process.kill(pid, 'SIGKILL');
    // A signal is delivered, not awaited. The sockets close with the last of the daemon's threads, which can outlive
    // its main thread (a zombie already); the agent reaps it only after all of them, so /proc/<pid> going is the sign.
    const exited = await eventually(() => !existsSync(`/proc/${pid}`), { every: 10, what: `the killed daemon (pid ${pid}) to be reaped` });
    t.ok(exited, 'the killed daemon was reaped');
    // Then /proc is read before the status: while the status still says the daemon waits, the read came after the exit and before the restart.
    const dnsPod = plan.pods.find((p) => p.netns === dns.netns)!;
    const holders = readHolders(name);
    const seenBoth = await eventually(
      async () => {
        const procs = await readProcs({ [dns.netns]: holders[dns.netns]! });
        const line = processDifferences(plan, labDaemons(plan), await agentStatus(runDir), placeNames(plan)).map(differenceLine)[0];
        const sockets = procDifferences(plan, holders, procs, placeNames(plan)).map(differenceLine).filter((l) => l.startsWith(`pod ${dnsPod.key}  `));
        return line ? { line, sockets } : undefined;
      },
      { every: 20, what: 'the killed daemon in the agent status' },
    );
    const seen = seenBoth?.line;
    t.ok(seenBoth?.sockets.includes(`pod ${dnsPod.key}  cluster-dns  container coredns socket udp/53: not bound`), `a killed daemon: its pod's DNS socket is gone from /proc: ${seenBoth?.sockets.join('; ')}`);
    t.ok(seenBoth?.sockets.includes(`pod ${dnsPod.key}  cluster-dns  container coredns socket tcp/53: not listening`), 'and its TCP socket');
    t.match(seen, new RegExp(`^pod ${dns.name.slice('dns/'.length)}  agent  daemon ${dns.name}: not running \\(waiting, last .*\\); see `), 'a killed daemon: named');
    const healed = await eventually(async () => ((await checkLab(plan)).differences.length === 0 ? 'clean' : undefined), { every: 100, timeout: 30_000 });
    t.equal(healed, 'clean', 'a killed daemon: clean once the agent has restarted it');

    // A killed agent: its restarter starts another, which serves every container again; none of the old daemons is left.
    const before = await agentStatus(runDir);
    const oldDaemons = before.daemons.map((d) => d.pid!);
    process.kill(before.pid, 'SIGKILL');
    await eventually(async () => (readFileSync(`${runDir}/agent.log`, 'utf8').includes('agent killed by signal 9; starting it again') ? true : undefined), { every: 50, what: 'the restarter noticing the killed agent' });
    const after = await waitAgentReady(runDir, 30_000);
    t.not(after.pid, before.pid, 'a killed agent: another agent serves the lab');
    t.same(oldDaemons.filter(isAlive), [], "a killed agent: none of its daemons is left running");
    const recovered = await eventually(async () => ((await checkLab(plan)).differences.length === 0 ? 'clean' : undefined), { every: 100, timeout: 30_000 });
    t.equal(recovered, 'clean', 'a killed agent: clean once restarted');

    // A flushed chain, repaired by rebuilding the lab.
    spawnSync('ip', ['netns', 'exec', n3!.netns, 'iptables', '-t', 'nat', '-F', 'KUBE-SERVICES']);
    t.match((await checkLab(plan)).differences.map(differenceLine), [/^node3  kube-proxy  nat chain KUBE-SERVICES: \d+ rules missing: /], 'a flushed chain: named');
    // verify says what is broken before the paths that fail because of it.
    const v = cli(['verify', '--name', name, '--only', 'CHECK,P5', '--tap']);
    t.equal(v.code, 1, 'verify fails on the drift');
    const lines = v.stdout.split('\n').filter((l) => /^(not )?ok \d+ - /.test(l));
    t.match(lines[0], /^not ok 1 - CHECK node3  kube-proxy  nat chain KUBE-SERVICES: \d+ rules missing: /, 'the drift is verify\'s first failure');
    t.ok(lines.slice(1).some((l) => /^not ok \d+ - P5 /.test(l)), `then the service paths that fail because of it: ${lines.join(' | ')}`);
    t.equal(cli(['up', '-f', file]).code, 0, 'up rebuilds the lab');
    t.same((await checkLab(JSON.parse(readFileSync(`/run/kube-netlab/${name}/plan.json`, 'utf8')) as Plan)).differences, [], 'a flushed chain: clean after up');
    t.equal(check().code, 0, 'clean at the end');
    const json = JSON.parse(cli(['check', '--name', name, '-o', 'json']).stdout) as { objects: number; differences: unknown[] };
    t.ok(json.objects > 50, `${json.objects} objects compared`);
    t.same(json.differences, []);
  });
}

if (isRoot) {
  t.test('check in nftables mode names a changed kube-proxy rule and a missing policy set element', async (t) => {
    const name = labName('chkn');
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--name', name]);
    });
    const lab = smallLab(name, 'host-gw').replace('podNetwork: {backend: host-gw}', 'podNetwork: {backend: host-gw}\n  serviceNetwork: {proxyMode: nftables}') + SERVICE_AND_POLICY;
    t.equal(cli(['up', '-f', writeLab(dir, name, lab)]).code, 0, 'up');
    const plan = JSON.parse(readFileSync(`/run/kube-netlab/${name}/plan.json`, 'utf8')) as Plan;
    t.same((await checkLab(plan)).differences, [], 'clean after up');
    const n1 = plan.nodes[0]!;
    const n2 = plan.nodes[1]!;
    const nft = (netns: string, ...args: string[]) => spawnSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8' });
    // The DNAT of one endpoint, found by its handle.
    const listing = nft(n1.netns, '-a', 'list', 'table', 'ip', 'kube-proxy').stdout;
    let chain = '';
    let dnat: { chain: string; rule: string; handle: string } | undefined;
    for (const line of listing.split('\n')) {
      const c = /^\s*chain (\S+) \{/.exec(line);
      if (c) chain = c[1]!;
      const d = /^\s*(.*dnat to \S+) # handle (\d+)$/.exec(line);
      if (d && !dnat && chain.startsWith('endpoint-')) dnat = { chain, rule: d[1]!, handle: d[2]! };
    }
    t.ok(dnat, 'an endpoint chain with its DNAT');
    nft(n1.netns, 'delete', 'rule', 'ip', 'kube-proxy', dnat!.chain, 'handle', dnat!.handle);
    const web = plan.pods.find((p) => p.labels.app === 'web')!;
    const set = nft(n2.netns, 'list', 'table', 'inet', 'kube-netlab-netpol').stdout.match(/set (other\/allow-web\.ingress-0-from-0) \{/)![1]!;
    nft(n2.netns, 'delete', 'element', 'inet', 'kube-netlab-netpol', set, `{ ${web.ip} }`);
    t.same((await checkLab(plan)).differences.map(differenceLine), [
      `node1  kube-proxy  ip kube-proxy chain ${dnat!.chain}: 1 rule missing: ${dnat!.rule}`,
      `node2  network-policy  inet kube-netlab-netpol set ${set}: 1 element missing: ${web.ip}`,
    ]);
    nft(n1.netns, 'add', 'rule', 'ip', 'kube-proxy', dnat!.chain, ...dnat!.rule.split(' '));
    nft(n2.netns, 'add', 'element', 'inet', 'kube-netlab-netpol', set, `{ ${web.ip} }`);
    t.same((await checkLab(plan)).differences, [], 'clean once put back');
  });
}
