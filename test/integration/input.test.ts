/**
 * Bad input and a bad environment are refused before anything changes:
 * exit 2 with file:line for input, exit 3 naming the package or sudo.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cli, isRoot, labName, ROOT, tempDir, writeLab } from '../helpers/cli.js';
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
    {
      name: 'an Ingress with a configuration-snippet annotation, which ingress-nginx refuses by default',
      yaml: (lab) =>
        `apiVersion: kube-netlab.dev/v1alpha1\nkind: Lab\nmetadata: {name: ${lab}}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  annotations:\n    nginx.ingress.kubernetes.io/configuration-snippet: 'more_set_headers "X-Lab: yes";'\nspec:\n  ingressClassName: nginx\n  rules:\n    - http:\n        paths:\n          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n`,
      line: 10,
      text: /Ingress default\/web: annotation nginx\.ingress\.kubernetes\.io\/configuration-snippet is refused: ingress-nginx disables snippet annotations by default/,
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
    // The CLI runs as nobody from a copy nobody can read: a checkout may sit under a home directory only its owner
    // may enter (Debian's default for new users). Hard links where the file system allows, so the copy is cheap.
    const copy = mkdtempSync(join(tmpdir(), 'kube-netlab-nonroot-'));
    chmodSync(copy, 0o755);
    t.teardown(() => rmSync(copy, { recursive: true, force: true }));
    for (const part of ['package.json', 'dist', 'node_modules']) {
      const linked = spawnSync('cp', ['-al', join(ROOT, part), copy]);
      if (linked.status !== 0) t.equal(spawnSync('cp', ['-a', join(ROOT, part), copy]).status, 0, `copy ${part}`);
    }
    // Without the test runner's loader, which it adds to every child's NODE_OPTIONS and which lives in the checkout.
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-u', 'NODE_OPTIONS', process.execPath, join(copy, 'dist', 'cli', 'main.js'), 'up', '-f', file], { encoding: 'utf8', cwd: copy });
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
