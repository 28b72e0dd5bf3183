/**
 * Runs exercises end to end on one lab, as a learner and an instructor
 * would: `exercise start` (the CLI) → `exercise check` fails and names the
 * injected fault → the exercise's wrong fix → `check` rejects it with its
 * reason → the reference fix, typed as a learner would (the first exercise
 * of a suite: applied with `exercise solve`, which prints those commands)
 * → `check` passes with verify green, recorded as solved by the learner
 * (or with `solve`, never counted as the learner's). The grades
 * that must fail run the grader in this process; the passing one is the
 * CLI's. With `verbs`, the first exercise also goes through the other verbs
 * a learner uses: `status`, `hint` (twice, two tiers), `list` (its row says
 * how it was solved), `reset` (the grade fails again) and a second `solve`.
 * At the end `exercise stop` leaves nothing and the root namespace as it
 * was. The lab is removed even when an assertion fails.
 */
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPlan } from '../../dist/apply/state.js';
import { findExercise, type Exercise } from '../../dist/exercises/catalog.js';
import { exerciseContext } from '../../dist/exercises/context.js';
import type { GradeReport } from '../../dist/exercises/run.js';
import { gradeExercise, loadFault } from '../../dist/exercises/run.js';
import { readRunning, readSolved } from '../../dist/exercises/state.js';
import { differenceLine } from '../../dist/check/compare.js';
import { cli, isRoot } from './cli.js';
import { leftovers, rootSnapshot } from './host.js';

/** `exercise check -o json`, as a user runs it. */
function grade(lab: string, env: Record<string, string>): { code: number; report: GradeReport; text: string } {
  const r = cli(['exercise', 'check', '--name', lab, '-o', 'json'], env);
  let report: GradeReport;
  try {
    report = JSON.parse(r.stdout) as GradeReport;
  } catch {
    throw new Error(`exercise check -o json printed no report (exit ${r.code}): ${r.stderr}`);
  }
  return { code: r.code, report, text: report.conditions.flatMap((c) => c.lines).join('\n') };
}

/** The same grader in this process: for the grades that must fail, without a Node.js start each. */
async function gradeHere(lab: string): Promise<{ code: number; report: GradeReport; text: string }> {
  const running = readRunning(lab)!;
  const report = await gradeExercise(findExercise(running.id), running);
  return { code: report.passed ? 0 : 1, report, text: report.conditions.flatMap((c) => c.lines).join('\n') };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A line that holds every word of the exercise's fault (the place and the object `check` names), in any order. */
function faultLine(ex: Exercise): RegExp {
  return new RegExp(`^${ex.fault.map((w) => `(?=.*${escape(w)})`).join('')}`, 'm');
}

/**
 * `exercise solve` through the CLI: it prints the reference fix on stdout,
 * one command a learner would type per line (`kube-netlab exec --name LAB
 * ...`, or the file to edit), and marks the running exercise as solved with
 * `solve`.
 */
function solve(t: Test, ex: Exercise, lab: string, env: Record<string, string>): void {
  const r = cli(['exercise', 'solve', '--name', lab], env);
  t.equal(r.code, 0, `exercise solve: ${r.stderr}`);
  t.match(r.stderr, `the reference fix of ${ex.id}, as a learner would type it`);
  const typed = r.stdout.split('\n').filter((l) => l.trim());
  t.ok(typed.length > 0, `the fix is commands a learner types: ${typed.join(' ; ')}`);
  for (const line of typed) t.match(line, new RegExp(`^(kube-netlab exec --name ${escape(lab)} |edit /etc/)`), `a command a learner types: ${line}`);
  t.equal(readRunning(lab)?.solved, true, 'the running exercise is marked as solved with solve');
}

/** `verbs`: the first exercise also goes through status, hint, list and reset (one suite does: they are the same code for every exercise). */
export function exerciseSuite(ids: readonly string[], lab: string, opts: { verbs?: boolean } = {}): void {
  if (!isRoot) {
    t.skip('integration tests need root (network namespaces)');
    return;
  }
  const env = { KUBE_NETLAB_STATE_DIR: mkdtempSync(join(tmpdir(), 'kube-netlab-solved-')) };
  // The grades run in this process record and read solved.json in the same place as the CLI's, never in /var/lib.
  process.env.KUBE_NETLAB_STATE_DIR = env.KUBE_NETLAB_STATE_DIR;
  const before = rootSnapshot();
  t.teardown(() => {
    cli(['exercise', 'stop', '--name', lab], env);
    cli(['down', '--name', lab]);
  });

  for (const [index, id] of ids.entries()) {
    const first = index === 0;
    const verbs = first && opts.verbs === true;
    t.test(id, async (t) => {
      const ex = findExercise(id);
      const started = cli(['exercise', 'start', id, '--name', lab], env);
      t.equal(started.code, 0, `exercise start ${id}: ${started.stderr}`);
      t.match(started.stdout, ex.title, 'start prints the statement');
      // The first exercise left the lab as its plan says (solved, or reset and solved again): it is reused.
      if (index === 1) t.match(started.stderr, `lab ${lab} is up and as its plan says: using it`, 'the lab the first exercise left is reused as it is');
      const running = readRunning(lab)!;
      t.equal(running.id, id);
      // Every word the exercise says check names is on one difference line.
      const lines = running.fault.map(differenceLine);
      t.ok(lines.some((l) => ex.fault.every((w) => l.includes(w))), `check names the fault (${ex.fault.join(', ')}): ${lines.join(' | ')}`);

      if (verbs) {
        const hint1 = cli(['exercise', 'hint', '--name', lab], env);
        t.equal(hint1.code, 0, `exercise hint: ${hint1.stderr}`);
        t.match(hint1.stdout, `hint 1/3 (where to look): ${ex.hints[0]}`, 'the first hint says where to look');
        t.match(hint1.stdout, 'kube-netlab exercise hint gives the next one');
        const hint2 = cli(['exercise', 'hint', '--name', lab], env);
        t.equal(hint2.code, 0, `exercise hint again: ${hint2.stderr}`);
        t.match(hint2.stdout, `hint 2/3 (what shows it): ${ex.hints[1]}`, 'a second call gives the next tier');
        t.notMatch(hint2.stdout, 'hint 1/3', 'and not the first again');
        const status = cli(['exercise', 'status', '--name', lab], env);
        t.equal(status.code, 0, `exercise status: ${status.stderr}`);
        t.match(status.stdout, `exercise ${id}: ${ex.title}`, 'status names the exercise');
        t.match(status.stdout, 'hints given 2/3', 'and counts the hints given');
        t.notMatch(status.stdout, 'the reference fix was applied', 'no solve yet');
      }

      const broken = await gradeHere(lab);
      t.equal(broken.code, 1, 'check fails while the fault is in');
      t.match(broken.text, faultLine(ex), `check's text names the fault (${ex.fault.join(', ')}) on one line`);
      t.notOk(broken.report.conditions.find((c) => c.name === 'symptom')?.ok, `the symptom shows: ${broken.text}`);
      t.notOk(broken.report.conditions.find((c) => c.name === 'root cause')?.ok, 'the root cause is named');

      const script = await loadFault(ex);
      const plan = () => readPlan(lab)!;
      if (ex.wrongFix.rebuild) {
        const up = cli(['up', '-f', ex.labFile, '--name', lab]);
        t.equal(up.code, 0, `up rebuilds the lab: ${up.stderr}`);
      } else {
        t.ok(script.wrongFix, `${id} has a wrong fix`);
        await script.wrongFix!(exerciseContext(plan(), () => {}));
      }
      const wrong = await gradeHere(lab);
      t.equal(wrong.code, 1, `the wrong fix (${ex.wrongFix.describe}) is rejected`);
      t.match(wrong.text, ex.wrongFix.rejects, `with the reason: ${wrong.text}`);
      if (ex.wrongFix.rebuild) {
        const reset = cli(['exercise', 'reset', '--name', lab], env);
        t.equal(reset.code, 0, `reset injects the fault again: ${reset.stderr}`);
        t.equal((await gradeHere(lab)).code, 1, 'check fails again after reset');
      } else await script.undoWrongFix?.(exerciseContext(plan(), () => {}));

      // The first exercise is solved the instructor's way (`solve`); the others as a learner does, typing the fix.
      if (first) solve(t, ex, lab, env);
      else {
        const typed: string[] = [];
        await script.fix(exerciseContext(plan(), (line) => typed.push(line)));
        t.ok(typed.length > 0, `the fix is commands a learner types: ${typed.join(' ; ')}`);
      }
      const fixed = grade(lab, env);
      t.equal(fixed.code, 0, `check passes after the fix: ${fixed.text}`);
      t.ok(fixed.report.passed && fixed.report.conditions.every((c) => c.ok), 'all three conditions hold');
      t.match(fixed.text, /verify \d+ passed/, 'verify ran green');
      // `solve` never counts as the learner's own solution; a fix the learner typed does.
      t.equal(readSolved()[id]?.by, first ? 'solve' : 'learner', first ? 'recorded as solved with solve, not by the learner' : 'recorded as solved by the learner');

      if (verbs) {
        const list = cli(['exercise', 'list'], env);
        t.equal(list.code, 0, `exercise list: ${list.stderr}`);
        const row = list.stdout.split('\n').find((l) => l.startsWith(`${id} `));
        t.ok(row, `list has a row for ${id}`);
        t.match(row, new RegExp(`^${escape(id)}\\s+${ex.path}\\s+${ex.difficulty}\\s+with solve\\s+${escape(ex.title)}$`), 'its SOLVED column says: with solve');

        const reset = cli(['exercise', 'reset', '--name', lab], env);
        t.equal(reset.code, 0, `exercise reset: ${reset.stderr}`);
        t.match(reset.stdout, ex.title, 'reset prints the statement again');
        const again = readRunning(lab);
        t.equal(again?.hints, 0, 'reset starts the hints over');
        t.notOk(again?.solved, 'and forgets the solve: the next passing check is the learner\'s own');
        const after = await gradeHere(lab);
        t.equal(after.code, 1, `check fails again after reset: ${after.text}`);
        t.match(after.text, faultLine(ex), 'naming the same fault');
        // The lab goes on to the next exercise healthy.
        solve(t, ex, lab, env);
      }
    });
  }

  t.test('exercise stop leaves nothing behind', async (t) => {
    const stop = cli(['exercise', 'stop', '--name', lab], env);
    t.equal(stop.code, 0, stop.stderr);
    t.same(leftovers(lab), [], 'no namespace, process, /etc/netns entry or run dir is left');
    t.equal(readRunning(lab), undefined, 'no running exercise is left');
    t.same(rootSnapshot(), before, 'the root namespace is unchanged');
  });
}
