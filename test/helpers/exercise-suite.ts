/**
 * Runs exercises end to end on one lab, as a learner and an instructor
 * would: `exercise start` (the CLI) → `exercise check` fails and names the
 * injected fault → the exercise's wrong fix → `check` rejects it with its
 * reason → the reference fix applied by hand (the commands `solve` prints,
 * run here one by one) → `check` passes with verify green. The grades that
 * must fail run the grader in this process; the passing one is the CLI's. At the end
 * `exercise stop` leaves nothing and the root namespace as it was. The lab
 * is removed even when an assertion fails.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPlan } from '../../src/apply/state.js';
import { findExercise } from '../../src/exercises/catalog.js';
import { exerciseContext } from '../../src/exercises/context.js';
import type { GradeReport } from '../../src/exercises/run.js';
import { gradeExercise, loadFault } from '../../src/exercises/run.js';
import { readRunning } from '../../src/exercises/state.js';
import { differenceLine } from '../../src/check/compare.js';
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

export function exerciseSuite(ids: readonly string[], lab: string): void {
  if (!isRoot) {
    t.skip('integration tests need root (network namespaces)');
    return;
  }
  const env = { KUBE_NETLAB_STATE_DIR: mkdtempSync(join(tmpdir(), 'kube-netlab-solved-')) };
  const before = rootSnapshot();
  t.teardown(() => {
    cli(['exercise', 'stop', '--name', lab], env);
    cli(['down', '--name', lab]);
  });

  for (const id of ids) {
    t.test(id, async (t) => {
      const ex = findExercise(id);
      const started = cli(['exercise', 'start', id, '--name', lab], env);
      t.equal(started.code, 0, `exercise start ${id}: ${started.stderr}`);
      t.match(started.stdout, ex.title, 'start prints the statement');
      const running = readRunning(lab)!;
      t.equal(running.id, id);
      // Every word the exercise says check names is on one difference line.
      const lines = running.fault.map(differenceLine);
      t.ok(lines.some((l) => ex.fault.every((w) => l.includes(w))), `check names the fault (${ex.fault.join(', ')}): ${lines.join(' | ')}`);

      const broken = await gradeHere(lab);
      t.equal(broken.code, 1, 'check fails while the fault is in');
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

      const typed: string[] = [];
      await script.fix(exerciseContext(plan(), (line) => typed.push(line)));
      t.ok(typed.length > 0, `the fix is commands a learner types: ${typed.join(' ; ')}`);
      const fixed = grade(lab, env);
      t.equal(fixed.code, 0, `check passes after the fix: ${fixed.text}`);
      t.ok(fixed.report.passed && fixed.report.conditions.every((c) => c.ok), 'all three conditions hold');
      t.match(fixed.text, /verify \d+ passed/, 'verify ran green');
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
