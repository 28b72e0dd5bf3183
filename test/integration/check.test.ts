/**
 * `check` on a running lab (vxlan): clean after `up`; then one object at a
 * time is broken by hand — a route, an fdb entry, a neighbour, a sysctl, a
 * bridge port, an MTU, a veth down, hairpin, an address, a route nobody
 * planned — and `check` names exactly that object (exit 1); putting it back
 * by hand makes it clean again (exit 0). The lab is removed even when a
 * check fails.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expectedObjects } from '../../src/check/expected.js';
import { checkLab, differenceLine } from '../../src/check/index.js';
import type { FdbObject, NeighbourObject } from '../../src/components/objects.js';
import type { Plan } from '../../src/model/types.js';
import { cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  t.test('check names each broken object, and is clean once it is put back', async (t) => {
    const name = labName('chk');
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--name', name]);
    });
    const up = cli(['up', '-f', writeLab(dir, name, smallLab(name, 'vxlan'))]);
    t.equal(up.code, 0, up.stderr);
    const check = () => cli(['check', '--name', name]);
    const clean = check();
    t.equal(clean.code, 0, `clean after up: ${clean.stdout}`);
    t.match(clean.stderr, new RegExp(`lab ${name}: \\d+ objects as the plan says`));

    const plan = JSON.parse(readFileSync(`/run/kube-netlab/${name}/plan.json`, 'utf8')) as Plan;
    const [n1, n2, n3] = plan.nodes;
    const objects = expectedObjects(plan).map((o) => o.object);
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
    t.equal(check().code, 0, 'clean at the end');
    const json = JSON.parse(cli(['check', '--name', name, '-o', 'json']).stdout) as { objects: number; differences: unknown[] };
    t.ok(json.objects > 50, `${json.objects} objects compared`);
    t.same(json.differences, []);
  });
}
