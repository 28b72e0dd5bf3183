import t from 'tap';
import { containerTargets, diffTargets, fingerprint, planDigest, targetsFromPlanText, type ContainerTarget } from '../../../dist/agent/plan-targets.js';

function pod(name: string, netns: string, ip: string, containers: Array<{ name: string; ports: Array<{ containerPort: number; protocol?: string }> }>) {
  return { namespace: 'default', name, key: `default/${name}`, netns, node: 'node1', ip, address: `${ip}/24`, containers };
}

const plan = {
  version: 1,
  lab: 'demo',
  pods: [
    pod('web', 'demo.p.web', '10.244.0.2', [
      { name: 'http', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
      { name: 'echo', ports: [{ containerPort: 9000, protocol: 'UDP' }, { containerPort: 9001 }] },
    ]),
    pod('idle', 'demo.p.idle', '10.244.0.3', [{ name: 'sleeper', ports: [] }]),
  ],
};

t.test('every container of every pod, in plan order', async (t) => {
  const targets = containerTargets(plan);
  t.same(targets.map((x) => x.key), ['default/web/http', 'default/web/echo', 'default/idle/sleeper']);
  t.same(targets[0], {
    key: 'default/web/http',
    podKey: 'default/web',
    namespace: 'default',
    pod: 'web',
    container: 'http',
    node: 'node1',
    podIP: '10.244.0.2',
    netns: 'demo.p.web',
    ports: [{ port: 8080, protocol: 'TCP' }],
  });
  t.same(targets[1]!.ports, [{ port: 9000, protocol: 'UDP' }, { port: 9001, protocol: 'TCP' }], 'protocol defaults to TCP');
  t.same(targets[2]!.ports, [], 'a container without ports is still a container');
  t.same(targetsFromPlanText(JSON.stringify(plan)), targets);
});

t.test('a plan the agent cannot serve is refused with the pod and field named', async (t) => {
  const bad = (pods: unknown) => () => containerTargets({ pods }, '/run/kube-netlab/demo/plan.json');
  t.throws(() => containerTargets({}), /plan\.json: top level: 'pods' must be a list/);
  t.throws(bad([pod('w', 'n', '1.1.1.1', [{ name: 'c', ports: [{ containerPort: 0 }] }])]), /demo\/plan\.json: container default\/w\/c: containerPort 0 must be an integer from 1 to 65535/);
  t.throws(bad([pod('w', 'n', '1.1.1.1', [{ name: 'c', ports: [{ containerPort: 80, protocol: 'SCTP' }] }])]), /protocol SCTP of port 80 must be TCP or UDP/);
  t.throws(bad([pod('w', 'n', '1.1.1.1', [{ name: 'c', ports: [] }, { name: 'c', ports: [] }])]), /container 'c' appears twice/);
  t.throws(bad([pod('w', '../etc', '1.1.1.1', [])]), /netns '\.\.\/etc' must be a plain name/);
  t.throws(bad([{ ...pod('w', 'n', '1.1.1.1', []), ip: undefined }]), /pod default\/w: 'ip' must be a non-empty string/);
  t.throws(bad([null]), /pods\[0\]: must be an object/);
  t.throws(() => targetsFromPlanText('{"pods": [', 'p.json'), /p\.json: not valid JSON/);
});

t.test('reload diff: new start, gone stop, changed restart, the rest is untouched', async (t) => {
  const before = containerTargets(plan);
  const after: ContainerTarget[] = [
    before[0]!, // unchanged
    { ...before[1]!, ports: [...before[1]!.ports].reverse() }, // same ports, other order
    { ...before[2]!, podIP: '10.244.0.9' }, // changed address
    { ...before[0]!, key: 'default/new/http', podKey: 'default/new', pod: 'new', netns: 'demo.p.new' }, // new pod
  ];
  const diff = diffTargets(before, after);
  t.same(diff.unchanged.map((x) => x.key), ['default/web/http', 'default/web/echo']);
  t.same(diff.stop.map((x) => x.key), ['default/idle/sleeper']);
  t.same(diff.start.map((x) => x.key), ['default/idle/sleeper', 'default/new/http']);
  t.same(diff.start[0]!.podIP, '10.244.0.9', 'the changed container starts with its new spec');

  const removed = diffTargets(before, [before[0]!]);
  t.same(removed.stop.map((x) => x.key), ['default/web/echo', 'default/idle/sleeper']);
  t.same(removed.start, []);

  for (const change of [{ netns: 'other' }, { node: 'node2' }, { ports: [{ port: 8081, protocol: 'TCP' as const }] }, { ports: [{ port: 8080, protocol: 'UDP' as const }] }]) {
    t.not(fingerprint({ ...before[0]!, ...change }), fingerprint(before[0]!), `a change of ${Object.keys(change)[0]} restarts`);
  }
  t.same(diffTargets([], []), { start: [], stop: [], unchanged: [] });
});

t.test('the plan version is a digest of the file text', async (t) => {
  t.equal(planDigest('{"a":1}'), planDigest('{"a":1}'));
  t.not(planDigest('{"a":1}'), planDigest('{"a":2}'));
  t.match(planDigest(''), /^[0-9a-f]{16}$/);
});
