/**
 * Cleanup under stress: `down` after `kill -9` of `up` half-way, a failed
 * `up` removing what it made, `down --all`, two labs side by side.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { labDir } from '../../dist/apply/state.js';
import { join } from 'node:path';
import { CLI, cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';
import { leftovers } from '../helpers/host.js';

function manyPods(lab: string, pods: number): string {
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${lab}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: many}
spec:
  replicas: ${pods}
  selector: {matchLabels: {app: many}}
  template:
    metadata: {labels: {app: many}}
    spec:
      containers: [{name: c, ports: [{containerPort: 80}]}]
`;
}

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  t.test('down cleans up after kill -9 of up half-way', async (t) => {
    const lab = labName('crash');
    const file = writeLab(tempDir(), lab, manyPods(lab, 80));
    t.teardown(() => {
      cli(['down', '--name', lab]);
    });
    const child = spawn(process.execPath, [CLI, 'up', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Killed when it says it is creating the namespaces: half-way, well before the lab can be complete.
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (/creating \d+ network namespaces/.test(stderr)) resolve();
      });
      child.on('exit', () => resolve());
    });
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.on('exit', r)));
    t.equal(child.signalCode, 'SIGKILL', `up was killed, not finished: ${stderr}`);
    const record = JSON.parse(readFileSync(join(labDir(lab), 'lab.json'), 'utf8')) as { phase: string };
    t.equal(record.phase, 'creating', 'the lab record says up stopped half-way');
    t.ok(leftovers(lab).length > 0, 'the killed up left things behind');
    const r = cli(['down', '--name', lab]);
    t.equal(r.code, 0, r.stderr);
    t.same(leftovers(lab), []);
  });

  t.test('a failed up removes what it made and says why', async (t) => {
    const lab = labName('fail');
    const dir = tempDir();
    const file = writeLab(dir, lab, smallLab(lab));
    // A `sleep` that exits at once: the pause processes do not stay up, after
    // namespaces, links and files already exist.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'sleep'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(bin, 'sleep'), 0o755);
    t.teardown(() => {
      cli(['down', '--name', lab]);
    });
    const r = cli(['up', '-f', file], { PATH: `${bin}:${process.env.PATH}` });
    t.equal(r.code, 1, r.stderr);
    t.match(r.stderr, /the pause process of fail-\w+\.\S+ \(pid \d+\).* exited; it runs `sleep infinity` from PATH/);
    t.match(r.stderr, /removing what was made/);
    t.same(leftovers(lab), []);
  });

  t.test('two labs with the same CIDRs run side by side; down --all removes both', async (t) => {
    const runDir = tempDir();
    const env = { KUBE_NETLAB_RUN_DIR: runDir };
    const a = labName('twoa');
    const b = labName('twob');
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--all'], env);
    });
    t.equal(cli(['up', '-f', writeLab(dir, a, smallLab(a))], env).code, 0);
    t.equal(cli(['up', '-f', writeLab(dir, b, smallLab(b, 'cloud-routes'))], env).code, 0);
    t.equal(cli(['verify', '--name', a], env).code, 0);
    t.equal(cli(['verify', '--name', b], env).code, 0);
    const several = cli(['get', 'pods'], env);
    t.equal(several.code, 2);
    t.match(several.stderr, /several labs are up .*choose one with --name/);
    t.equal(cli(['down', '--name', a], env).code, 0);
    t.same(leftovers(a, runDir), []);
    t.equal(cli(['verify', '--name', b], env).code, 0, 'the other lab is untouched');
    t.equal(cli(['get', 'pods', '-o', 'json'], env).code, 0, 'the only lab left is chosen without --name');
    t.equal(cli(['up', '-f', writeLab(dir, a, smallLab(a))], env).code, 0);
    const all = cli(['down', '--all'], env);
    t.equal(all.code, 0, all.stderr);
    t.same(leftovers(a, runDir), []);
    t.same(leftovers(b, runDir), []);
  });
}
