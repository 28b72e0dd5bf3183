/**
 * Bad input and a bad environment are refused before anything changes:
 * exit 2 with file:line for input, exit 3 naming the package or sudo.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { CLI, cli, isRoot, labName, tempDir, writeLab } from '../helpers/cli.js';
import { leftovers } from '../helpers/host.js';

if (!isRoot) {
  t.skip('integration tests need root');
} else {
  const dir = tempDir();
  const cases: { name: string; yaml: (lab: string) => string; line: number; text: RegExp }[] = [
    {
      name: 'YAML syntax error',
      yaml: (lab) => `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\nspec:\n  nodes: [\n`,
      line: 6,
      text: /./,
    },
    {
      name: 'unknown field in the Lab document',
      yaml: (lab) => `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\nspec:\n  podNetwork:\n    cidr: 10.244.0.0/16\n    bakend: vxlan\n`,
      line: 7,
      text: /bakend/,
    },
    {
      name: 'overlapping CIDRs',
      yaml: (lab) => `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\nspec:\n  nodeNetwork: 10.244.5.0/24\n`,
      line: 5,
      text: /overlap/i,
    },
    {
      name: 'nodeName of a node that does not exist',
      yaml: (lab) =>
        `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: node9\n  containers: [{name: c}]\n`,
      line: 9,
      text: /node9/,
    },
    {
      name: 'a NetworkPolicy peer with ipBlock and a selector',
      yaml: (lab) =>
        `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n    - from:\n        - podSelector: {}\n          ipBlock: {cidr: 10.0.0.0/8}\n`,
      line: 13,
      text: /may not combine ipBlock with podSelector/,
    },
    {
      name: 'a ReachabilityTest naming a pod that does not exist',
      yaml: (lab) =>
        `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, ports: [{containerPort: 80}]}]\n---\napiVersion: kube-netlab.dev/v1alpha1\nkind: ReachabilityTest\nmetadata: {name: t}\nspec:\n  from:\n    - {pod: default/q}\n`,
      line: 16,
      text: /names pod default\/q, which does not exist; pods of default: p/,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const lab = labName('bad');
      const file = writeLab(dir, `${lab}-${cases.indexOf(c)}`, c.yaml(lab));
      const r = cli(['up', '-f', file]);
      t.equal(r.code, 2, r.stderr);
      t.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${c.line}`));
      t.match(r.stderr, c.text);
      t.same(leftovers(lab), [], 'nothing was made');
    });
  }

  t.test('not root: exit 3 and nothing made', async (t) => {
    const lab = labName('nonroot');
    const file = writeLab(dir, lab, `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\n`);
    // The test runner's loader (NODE_OPTIONS) writes to the repository, which nobody may not.
    const { NODE_OPTIONS: _loader, ...env } = process.env;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'up', '-f', file], { encoding: 'utf8', env });
    t.equal(r.status, 3, r.stderr);
    t.match(r.stderr, /must run as root/);
    t.same(leftovers(lab), []);
  });

  t.test('a missing tool: exit 3 naming the package', async (t) => {
    const lab = labName('notool');
    const file = writeLab(dir, lab, `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\n`);
    // A PATH with node only: ip, nsenter and friends are missing.
    const bin = tempDir();
    const r = spawnSync(process.execPath, [CLI, 'up', '-f', file], { encoding: 'utf8', env: { ...process.env, PATH: bin } });
    t.equal(r.status, 3, r.stderr);
    t.match(r.stderr, /apt-get install .*iproute2/);
    t.same(leftovers(lab), []);
  });

  t.test('unknown verbs and lab names are bad input', async (t) => {
    t.equal(cli(['frobnicate']).code, 2);
    const r = cli(['get', 'pods', '--name', labName('absent')]);
    t.equal(r.code, 2);
    t.match(r.stderr, /is not up/);
  });
}
