/**
 * What `solved.json` keeps: an exercise solved by the learner's own fix, or
 * with `solve` (the reference fix), in the directory KUBE_NETLAB_STATE_DIR
 * names. A learner's own solution is never downgraded by a later `solve`;
 * a `solve` is upgraded when the learner solves it later. `exercise list`
 * shows the two apart.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exerciseCommand } from '../../../dist/cli/commands/exercise.js';
import { listExercises } from '../../../dist/exercises/catalog.js';
import { readSolved, recordSolved } from '../../../dist/exercises/state.js';

const saved = process.env.KUBE_NETLAB_STATE_DIR;
t.teardown(() => {
  if (saved === undefined) delete process.env.KUBE_NETLAB_STATE_DIR;
  else process.env.KUBE_NETLAB_STATE_DIR = saved;
});

/** A fresh state directory for one test; solved.json is made on the first record. */
function stateDir(sub = ''): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'kube-netlab-state-')), sub);
  process.env.KUBE_NETLAB_STATE_DIR = dir;
  return dir;
}

const T1 = '2025-01-01T10:00:00.000Z';
const T2 = '2025-01-02T10:00:00.000Z';
const T3 = '2025-01-03T10:00:00.000Z';

t.test('nothing solved yet: an empty record, no file', async (t) => {
  const dir = stateDir();
  t.same(readSolved(), {});
  t.notOk(existsSync(join(dir, 'solved.json')));
});

t.test('the state directory is KUBE_NETLAB_STATE_DIR, made on the first record', async (t) => {
  const dir = stateDir('not/yet/there');
  t.notOk(existsSync(dir));
  recordSolved('forwarding-off', 'learner', T1);
  t.same(JSON.parse(readFileSync(join(dir, 'solved.json'), 'utf8')), { 'forwarding-off': { at: T1, by: 'learner' } });
  t.same(readSolved(), { 'forwarding-off': { at: T1, by: 'learner' } });
});

t.test('a learner solve and a solve with `solve` are kept apart', async (t) => {
  stateDir();
  recordSolved('loopback-down', 'learner', T1);
  recordSolved('pod-mtu', 'solve', T2);
  t.same(readSolved(), { 'loopback-down': { at: T1, by: 'learner' }, 'pod-mtu': { at: T2, by: 'solve' } });
});

t.test('a later solve never downgrades the learner', async (t) => {
  stateDir();
  recordSolved('loopback-down', 'learner', T1);
  recordSolved('loopback-down', 'solve', T2);
  t.same(readSolved()['loopback-down'], { at: T1, by: 'learner' }, 'still the learner, from when they solved it');
});

t.test('the learner solving it later upgrades a solve', async (t) => {
  stateDir();
  recordSolved('pod-mtu', 'solve', T1);
  recordSolved('pod-mtu', 'learner', T2);
  t.same(readSolved()['pod-mtu'], { at: T2, by: 'learner' });
  recordSolved('pod-mtu', 'learner', T3);
  t.same(readSolved()['pod-mtu'], { at: T3, by: 'learner' }, 'solving it again moves the time');
});

t.test('solve after solve moves the time and stays a solve', async (t) => {
  stateDir();
  recordSolved('pod-mtu', 'solve', T1);
  recordSolved('pod-mtu', 'solve', T2);
  t.same(readSolved()['pod-mtu'], { at: T2, by: 'solve' });
});

t.test('an unreadable solved.json reads as nothing solved, and the next record replaces it', async (t) => {
  const dir = stateDir();
  writeFileSync(join(dir, 'solved.json'), '{ not json');
  t.same(readSolved(), {});
  recordSolved('resolv-conf', 'learner', T1);
  t.same(readSolved(), { 'resolv-conf': { at: T1, by: 'learner' } });
});

t.test('exercise list: yes for the learner, "with solve" for solve, - for the rest', async (t) => {
  stateDir();
  const [a, b, c] = listExercises();
  recordSolved(a!.id, 'learner', T1);
  recordSolved(b!.id, 'solve', T1);
  let printed = '';
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((printed += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let code: number;
  try {
    code = await exerciseCommand({ positionals: ['list'], rest: [], flags: new Map() });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  t.equal(code, 0);
  const column = (id: string) => {
    const row = printed.split('\n').find((l) => l.startsWith(`${id} `));
    return row?.split(/ {3,}/)[3];
  };
  t.equal(column(a!.id), 'yes', `${a!.id}: solved by the learner`);
  t.equal(column(b!.id), 'with solve', `${b!.id}: solved with solve, not by the learner`);
  t.equal(column(c!.id), '-', `${c!.id}: not solved`);
});
