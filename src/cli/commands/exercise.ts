/**
 * `exercise list | start ID | status | hint | check | solve | reset | stop`:
 * graded break/fix exercises on a real lab. `start` prints the symptom as a
 * ticket would; `check` is the grader (exit 0 when solved, 1 otherwise).
 */
import { checkEnvironment } from '../../apply/environment.js';
import { readRecord } from '../../apply/state.js';
import { findExercise, listExercises, type Exercise } from '../../exercises/catalog.js';
import { gradeLines } from '../../exercises/grade.js';
import { nextHint } from '../../exercises/hints.js';
import { gradeExercise, solveExercise, startExercise, stopExercise } from '../../exercises/run.js';
import { readRunning, readSolved, runningLabs, writeRunning, type RunningExercise } from '../../exercises/state.js';
import { labelProblem } from '../../config/names.js';
import { LabNotFoundError } from '../../util/errors.js';
import { flag, usageError, type ParsedArgs } from '../args.js';
import { out, progress } from '../output.js';
import { table } from '../table.js';
import { EXERCISE_USAGE } from './usage-lines.js';

/** The lab an exercise runs on unless --name says otherwise. */
const DEFAULT_LAB = 'exercise';

function labFor(args: ParsedArgs): string {
  const name = flag(args, 'name');
  if (name) {
    const problem = labelProblem(name, `--name '${name}'`);
    if (problem) throw usageError(problem);
    return name;
  }
  const labs = runningLabs();
  if (labs.length > 1) throw usageError(`exercises are running on several labs (${labs.join(', ')}); choose one with --name`);
  return labs[0] ?? DEFAULT_LAB;
}

function running(args: ParsedArgs): { lab: string; run: RunningExercise; ex: Exercise } {
  const lab = labFor(args);
  const run = readRunning(lab);
  if (!run) throw new LabNotFoundError(`no exercise is running on lab ${lab}; pick one with 'kube-netlab exercise list' and start it with 'kube-netlab exercise start ID'`);
  return { lab, run, ex: findExercise(run.id) };
}

function statement(ex: Exercise, lab: string): string {
  return [
    `exercise ${ex.id}: ${ex.title}  (${ex.path}, ${ex.difficulty}, lab ${lab})`,
    '',
    ...ex.statement.split('\n').map((l) => `  ${l}`),
    '',
    `Find the cause and repair it in the kernel objects of lab ${lab} (kube-netlab exec, get, check, trace, graph --name ${lab}).`,
    `Then: kube-netlab exercise check. Stuck: kube-netlab exercise hint.`,
    '',
  ].join('\n');
}

async function list(): Promise<number> {
  const solved = readSolved();
  const rows = listExercises().map((e) => [e.id, e.path, e.difficulty, solved[e.id] ? (solved[e.id]!.by === 'learner' ? 'yes' : 'with solve') : '-', e.title]);
  out(table(['ID', 'PATH', 'LEVEL', 'SOLVED', 'TITLE'], rows));
  progress('start one with: kube-netlab exercise start ID (the learning path: lab/exercises/README.md)');
  return 0;
}

async function start(args: ParsedArgs, id: string | undefined): Promise<number> {
  if (!id) throw usageError(`usage: kube-netlab exercise start ID; the ids: kube-netlab exercise list`);
  const ex = findExercise(id);
  checkEnvironment();
  const lab = flag(args, 'name') ?? DEFAULT_LAB;
  const problem = labelProblem(lab, `--name '${lab}'`);
  if (problem) throw usageError(problem);
  await startExercise(ex, lab, progress);
  out(statement(ex, lab));
  return 0;
}

export async function exerciseCommand(args: ParsedArgs): Promise<number> {
  const [action, id, extra] = args.positionals;
  if (extra !== undefined || !action) throw usageError(`usage: kube-netlab ${EXERCISE_USAGE}`);
  const output = flag(args, 'output');
  if (output && (output !== 'json' || action !== 'check')) throw usageError(`-o ${output}: only 'exercise check -o json' is supported`);
  switch (action) {
    case 'list':
      return list();
    case 'start':
      return start(args, id);
  }
  if (id !== undefined) throw usageError(`exercise ${action} takes no id; it acts on the running exercise (--name N picks its lab)`);
  const { lab, run, ex } = running(args);
  switch (action) {
    case 'status': {
      const record = readRecord(lab);
      out(statement(ex, lab));
      out(`started ${run.startedAt}; hints given ${run.hints}/3${run.solved ? '; the reference fix was applied (solve)' : ''}\n`);
      if (record && record.createdAt !== run.labCreatedAt) out(`the lab was rebuilt since (${record.createdAt}): start the exercise again\n`);
      return 0;
    }
    case 'hint': {
      const step = nextHint(ex.hints, run.hints);
      writeRunning({ ...run, hints: step.given });
      out(`${step.lines.join('\n')}\n`);
      return 0;
    }
    case 'check': {
      checkEnvironment(['ip', 'bridge', 'nsenter', 'ping', 'curl']);
      const report = await gradeExercise(ex, run);
      if (output === 'json') out(`${JSON.stringify(report, null, 2)}\n`);
      else {
        out(`exercise ${ex.id} on lab ${lab}\n${gradeLines(report).join('\n')}\n`);
        out(report.passed ? `solved: ${ex.title}\n` : 'not solved yet\n');
      }
      return report.passed ? 0 : 1;
    }
    case 'solve': {
      progress(`the reference fix of ${ex.id}, as a learner would type it:`);
      await solveExercise(ex, run, (line) => out(`${line}\n`));
      progress('applied; kube-netlab exercise check grades it');
      return 0;
    }
    case 'reset': {
      checkEnvironment();
      await startExercise(ex, lab, progress);
      out(statement(ex, lab));
      return 0;
    }
    case 'stop': {
      const r = await stopExercise(lab);
      progress(`exercise ${ex.id} stopped: lab ${lab} removed (${r.namespaces} namespaces, ${r.processes} processes)`);
      return 0;
    }
    default:
      throw usageError(`usage: kube-netlab ${EXERCISE_USAGE}`);
  }
}
