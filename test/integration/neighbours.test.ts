/**
 * A lab too big for the kernel's default neighbour (ARP) table pins each
 * pod's gateway and each pod on its node's bridge as permanent entries, and
 * routes pods on one node to each other through the gateway;
 * `scale` across the line unpins and pins them again on the running lab,
 * and `check` holds the lab to it each time.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Plan } from '../../dist/model/types.js';
import { scaleLabYaml } from '../../dist/bench/lab-scale.js';
import { cli, isRoot, labName, tempDir, writeLab } from '../helpers/cli.js';
import { leftovers } from '../helpers/host.js';

// 340 replicas and the two DNS pods need 3 x 342 + 15 entries, past 1024; 300 need 921.
const PINNED = 340;
const UNPINNED = 300;

if (!isRoot) {
  t.skip('needs root: it builds a lab of 345 namespaces', () => {});
} else {
  t.test('pinned at up, unpinned and pinned again by scale, clean under check each time', async (t) => {
    const lab = labName('nbr');
    t.teardown(() => {
      cli(['down', '--name', lab]);
    });
    const file = writeLab(tempDir(), lab, scaleLabYaml(lab, PINNED));
    const up = cli(['up', '-f', file]);
    t.equal(up.code, 0, up.stderr);
    t.notMatch(up.stderr, /neighbour \(ARP\) entries/, 'no warning: what is left to ARP fits the table');

    const planOf = () => JSON.parse(readFileSync(`/run/kube-netlab/${lab}/plan.json`, 'utf8')) as Plan;
    const permanent = (netns: string, dev: string) =>
      spawnSync('ip', ['-n', netns, '-j', 'neigh', 'show', 'dev', dev, 'nud', 'permanent'], { encoding: 'utf8' }).stdout.trim();
    const pinnedOn = (plan: Plan) => plan.nodes.map((n) => (JSON.parse(permanent(n.netns, 'cbr0') || '[]') as unknown[]).length);
    const podsOn = (plan: Plan) => plan.nodes.map((n) => plan.pods.filter((p) => p.node === n.name && !p.hostNetwork).length);
    const ping = (from: Plan['pods'][number], to: Plan['pods'][number]) => spawnSync('ip', ['netns', 'exec', from.netns, 'ping', '-c', '1', '-W', '2', to.ip], { encoding: 'utf8' }).status;
    const reach = (plan: Plan) => ping(plan.pods.find((p) => p.node === 'node1')!, plan.pods.find((p) => p.node === 'node3')!);
    // Two app pods on one node: a pinned lab routes them through the gateway, so neither has anything to resolve.
    const sameNode = (plan: Plan) => plan.pods.filter((p) => p.node === 'node2' && p.namespace === 'default').slice(0, 2) as [Plan['pods'][number], Plan['pods'][number]];
    const learned = (netns: string) => (JSON.parse(spawnSync('ip', ['-n', netns, '-j', 'neigh', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout || '[]') as { state?: string[] }[]).filter((n) => !(n.state ?? []).includes('PERMANENT')).length;

    const plan = planOf();
    t.equal(plan.staticNeighbours, true);
    t.same(pinnedOn(plan), podsOn(plan), 'every pod on its node\'s bridge');
    const pod = plan.pods.find((p) => p.namespace === 'default')!;
    const node = plan.nodes.find((n) => n.name === pod.node)!;
    t.match(permanent(pod.netns, 'eth0'), new RegExp(`"dst":"${pod.gateway}".*"lladdr":"${node.bridgeMac}"`), 'the gateway at cbr0\'s MAC');
    t.equal(cli(['check', '--name', lab]).code, 0, 'check: clean');
    t.equal(reach(plan), 0, 'a pod reaches a pod on another node');
    const [a, b] = sameNode(plan);
    t.equal(ping(a, b), 0, 'a pod reaches a pod on its own node');
    t.same([learned(a.netns), learned(b.netns)], [0, 0], 'with no ARP between them');

    // Scaled across the line: the running lab's entries follow, the removed pods' included.
    const scaleTo = (replicas: number, pinned: boolean) => {
      const r = cli(['scale', '--name', lab, 'deploy/app', '--replicas', String(replicas)]);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stderr, new RegExp(`\\b${pinned ? 'pinning' : 'unpinning'} the neighbour entries of \\d+ pod\\(s\\)`));
      const now = planOf();
      t.equal(now.staticNeighbours, pinned);
      t.same(pinnedOn(now), pinned ? podsOn(now) : [0, 0, 0], `${replicas} replicas: the pinned entries on each bridge`);
      t.same(JSON.parse(permanent(now.pods.find((p) => p.namespace === 'default')!.netns, 'eth0') || '[]').length, pinned ? 1 : 0, 'and in a pod');
      const check = cli(['check', '--name', lab]);
      t.equal(check.code, 0, `check: clean: ${check.stdout}`);
      t.equal(reach(now), 0, 'a pod reaches a pod on another node');
      const [a, b] = sameNode(now);
      t.equal(ping(a, b), 0, 'a pod reaches a pod on its own node');
      t.equal(learned(a.netns) > 0, !pinned, pinned ? 'through the gateway, with nothing to resolve' : 'directly, by ARP on the bridge');
    };
    scaleTo(UNPINNED, false);
    scaleTo(PINNED, true);

    t.equal(cli(['down', '--name', lab]).code, 0);
    t.same(leftovers(lab), []);
  });
}
