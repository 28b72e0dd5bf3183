import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../../../dist/config/index.js';
import { ConfigError, type ConfigProblem } from '../../../dist/util/errors.js';

const FIXTURES = resolve(fileURLToPath(new URL('../../fixtures/config', import.meta.url)));
const fixture = (...p: string[]) => join(FIXTURES, ...p);

function loadProblems(paths: string[]): ConfigProblem[] {
  try {
    loadLab(paths);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('one file', async (t) => {
  const spec = loadLab([fixture('minimal.yaml')]);
  t.equal(spec.name, 'mini');
  t.same(spec.files, [fixture('minimal.yaml')]);
  t.same(spec.source, { file: fixture('minimal.yaml'), line: 2, col: 1 }, 'the Lab document starts after the comment');
});

t.test('a relative path is resolved', async (t) => {
  const spec = loadLab(['test/fixtures/config/minimal.yaml']);
  t.same(spec.files, [resolve('test/fixtures/config/minimal.yaml')]);
});

t.test('several files form one lab', async (t) => {
  const files = [fixture('dir', '01-lab.yaml'), fixture('dir', '02-namespaces.yml'), fixture('dir', '03-workloads.yaml')];
  const spec = loadLab(files);
  t.equal(spec.name, 'dirlab');
  t.same(spec.namespaces, ['default', 'shop']);
  t.same(spec.pods.map((p) => `${p.namespace}/${p.name}`), ['shop/cache']);
  t.same(spec.pods[0]!.source, { file: files[2], line: 1, col: 1 });
  t.same(spec.files, files);
});

t.test('a directory: its *.yaml and *.yml files in name order, not recursive', async (t) => {
  const spec = loadLab([fixture('dir')]);
  t.same(spec.files, [fixture('dir', '01-lab.yaml'), fixture('dir', '02-namespaces.yml'), fixture('dir', '03-workloads.yaml')]);
  t.equal(spec.name, 'dirlab', 'the nested Lab document is not read');
  t.same(spec.nodes.map((n) => n.name), ['a', 'b']);
  t.equal(spec.podNetwork.backend, 'vxlan');
});

t.test('a file named directly and through its directory is read once', async (t) => {
  const spec = loadLab([fixture('dir', '01-lab.yaml'), fixture('dir')]);
  t.equal(spec.files.length, 3);
});

t.test('the name option overrides metadata.name', async (t) => {
  t.equal(loadLab([fixture('minimal.yaml')], { name: 'other' }).name, 'other');
});

t.test('missing files are reported together, each by path, with code file', async (t) => {
  const a = fixture('nope-a.yaml');
  const b = fixture('nope-b.yaml');
  const ps = loadProblems([a, fixture('minimal.yaml'), b]);
  t.same(ps.map((p) => p.code), ['file', 'file']);
  t.match(ps[0]!.message, a);
  t.match(ps[1]!.message, b);
});

t.test('a directory without YAML files', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'x' });
  const ps = loadProblems([dir]);
  t.same(ps.map((p) => p.code), ['file']);
  t.match(ps[0]!.message, dir);
});

t.test('an unreadable file', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'secret.yaml');
  writeFileSync(file, 'a: 1\n');
  chmodSync(file, 0o000);
  const ps = loadProblems([file]);
  t.same(ps.map((p) => p.code), ['file']);
  t.match(ps[0]!.message, file);
});

t.test('a file in a directory that cannot be read (a dangling link)', async (t) => {
  const dir = t.testdir({ 'lab.yaml': t.fixture('symlink', 'missing-target.yaml') });
  const ps = loadProblems([dir]);
  t.same(ps.map((p) => p.code), ['file']);
  t.match(ps[0]!.message, join(dir, 'lab.yaml'));
});

t.test('no path at all', async (t) => {
  t.same(loadProblems([]).map((p) => p.code), ['file']);
});

t.test('a YAML syntax error points at its file, line and column', async (t) => {
  const ps = loadProblems([fixture('broken.yaml')]);
  t.equal(ps.length, 1, 'no made-up problems after the syntax error');
  t.equal(ps[0]!.code, 'yaml-syntax');
  t.same(ps[0]!.source, { file: fixture('broken.yaml'), line: 8, col: 1 });
});

t.test('a syntax error in a second file is reported against that file', async (t) => {
  const ps = loadProblems([fixture('minimal.yaml'), fixture('broken.yaml')]);
  t.same(ps.map((p) => [p.code, p.source?.file, p.source?.line]), [['yaml-syntax', fixture('broken.yaml'), 8]]);
});

t.test('the ConfigError message carries file:line of each problem', async (t) => {
  try {
    loadLab([fixture('broken.yaml')]);
    t.fail('accepted');
  } catch (err) {
    t.type(err, ConfigError);
    t.match((err as Error).message, `${fixture('broken.yaml')}:8:1: `);
  }
});
