/**
 * The exercises shipped under lab/exercises/: each one reads, together they
 * cover every seed path in three difficulties, and what a learner reads
 * never gives the answer away (no statement names the broken object, no
 * hint changes the kernel).
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIFFICULTIES, SEED_PATHS, findExercise, listExercises, parseExercise } from '../../../dist/exercises/catalog.js';
import { ConfigError } from '../../../dist/util/errors.js';

const all = listExercises();

t.test('at least 16 exercises, every seed path, three difficulties', async (t) => {
  t.ok(all.length >= 16, `${all.length} exercises`);
  t.same([...new Set(all.map((e) => e.path))].sort(), [...SEED_PATHS].sort(), 'every seed path P1-P13 has an exercise');
  t.same([...new Set(all.map((e) => e.difficulty))].sort(), [...DIFFICULTIES].sort());
  t.ok(all.some((e) => e.path === 'P11'), 'NetworkPolicy has one');
});

t.test('what a learner reads does not give the answer away', async (t) => {
  // Commands that change the kernel: a hint may show where to look, never what to type to fix it.
  const writes = /sysctl -w|\b(route|neigh|fdb) (add|replace|del|append)\b|\blink set\b|iptables (-t \w+ )?-[AIDR] |\bnft (add|insert|delete)\b|iptables-restore/;
  for (const e of all) {
    for (const [i, h] of e.hints.entries()) t.notMatch(h, writes, `${e.id} hint ${i + 1} changes nothing`);
    // The fault's words after the place name the broken object; the ticket describes only the symptom.
    for (const w of e.fault.slice(1)) t.notOk(e.statement.includes(w), `${e.id}: the statement does not name '${w}'`);
  }
});

t.test('listed in the order of the seeds, each found by its id', async (t) => {
  const ranks = all.map((e) => SEED_PATHS.indexOf(e.path));
  t.same(ranks, [...ranks].sort((a, b) => a - b));
  t.equal(findExercise(all[0]!.id).title, all[0]!.title);
  t.throws(() => findExercise('no-such-exercise'), /no exercise 'no-such-exercise'; see kube-netlab exercise list/);
  t.throws(() => findExercise('../default'), /no exercise/);
});

t.test('a broken exercise.yaml is refused with file and line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netlab-ex-'));
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'fault.mjs'), 'export async function inject() {}\n');
  const text = 'title: A title\npath: P14\ndifficulty: expert\nlab: default\nstatement: ticket\nhints: [one, two]\nfault: [node1]\nwrongFix: {describe: d, rejects: r}\ncolour: red\n';
  const err = (() => {
    try {
      parseExercise('bad', join(dir, 'bad'), text);
    } catch (e) {
      return e as ConfigError;
    }
    return undefined;
  })();
  t.ok(err instanceof ConfigError);
  const message = err!.message;
  t.match(message, /exercise.yaml:2:\d+: path 'P14' is not a seed path/);
  t.match(message, /exercise.yaml:3:\d+: difficulty 'expert' must be one of beginner, intermediate, advanced/);
  t.match(message, /exercise.yaml:6:\d+: hints must list three tiers/);
  t.match(message, /exercise.yaml:9:\d+: unknown field 'colour'/);
});
