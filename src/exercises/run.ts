/**
 * An exercise's life on a lab: `start` brings the lab up (or takes it as it
 * is, when it is up from the same file and `check` finds nothing wrong),
 * injects the fault and records what `check` names because of it; the
 * grader measures the three conditions; `solve` applies the reference fix;
 * `stop` removes the lab.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { downLab } from '../apply/down.js';
import { readPlan, readRecord } from '../apply/state.js';
import { upLab } from '../apply/up.js';
import { checkLab } from '../check/index.js';
import { differenceLine } from '../check/compare.js';
import { loadLab } from '../config/index.js';
import type { Plan } from '../model/types.js';
import type { Probe } from '../verify/checks.js';
import { REACHABILITY, VERIFY_PATHS, verifyLab } from '../verify/lab.js';
import { runProbe } from '../verify/probes.js';
import { counts } from '../verify/report.js';
import type { Exercise } from './catalog.js';
import { exerciseContext, type ExerciseContext } from './context.js';
import { grade, type Grade } from './grade.js';
import { recordSolved, removeRunning, writeRunning, type RunningExercise } from './state.js';

/** What an exercise's fault.mjs exports. */
export interface FaultScript {
  inject(ex: ExerciseContext): Promise<void>;
  fix(ex: ExerciseContext): Promise<void>;
  /** The probes that show the symptom: they fail while the fault is in, and pass once it is repaired. */
  symptom(ex: ExerciseContext): Probe[];
  /** A fix that looks right but is not (a workaround, a flush); `undoWrongFix` takes it back. */
  wrongFix?(ex: ExerciseContext): Promise<void>;
  undoWrongFix?(ex: ExerciseContext): Promise<void>;
}

export async function loadFault(ex: Exercise): Promise<FaultScript> {
  const mod = (await import(pathToFileURL(join(ex.dir, 'fault.mjs')).href)) as Partial<FaultScript>;
  for (const f of ['inject', 'fix', 'symptom'] as const) {
    if (typeof mod[f] !== 'function') throw new Error(`${join(ex.dir, 'fault.mjs')} must export a function '${f}'`);
  }
  return mod as FaultScript;
}

type Log = (line: string) => void;

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

/** The lab as its file says, with nothing differing from the plan: reused when it already is, made again otherwise. */
async function cleanLab(ex: Exercise, lab: string, log: Log): Promise<Plan> {
  const record = readRecord(lab);
  const plan = readPlan(lab);
  if (record?.phase === 'ready' && plan && sameFiles(record.files, [ex.labFile])) {
    const before = await checkLab(plan);
    if (!before.differences.length) {
      log(`lab ${lab} is up and as its plan says: using it`);
      return plan;
    }
    log(`lab ${lab} differs from its plan in ${before.differences.length} object(s): building it again`);
  }
  const spec = loadLab([ex.labFile], { name: lab });
  const made = await upLab(spec, { log });
  const after = await checkLab(made);
  if (after.differences.length) throw new Error(`lab ${lab} differs from its plan right after up, so no fault can be told apart:\n${after.differences.map(differenceLine).join('\n')}`);
  return made;
}

/** Brings up the lab, injects the fault, and records what `check` names because of it. */
export async function startExercise(ex: Exercise, lab: string, log: Log): Promise<RunningExercise> {
  const script = await loadFault(ex);
  const plan = await cleanLab(ex, lab, log);
  removeRunning(lab);
  await script.inject(exerciseContext(plan, () => {}));
  const fault = (await checkLab(plan)).differences;
  if (!fault.length) throw new Error(`exercise ${ex.id}: the fault made no difference check can see; ${join(ex.dir, 'fault.mjs')} must break an object the plan decides`);
  const running: RunningExercise = { id: ex.id, lab, labCreatedAt: readRecord(lab)!.createdAt, startedAt: new Date().toISOString(), fault, hints: 0 };
  writeRunning(running);
  return running;
}

export interface GradeReport extends Grade {
  exercise: string;
  lab: string;
}

/** Measures the three conditions; records the exercise as solved when they hold. */
export async function gradeExercise(ex: Exercise, running: RunningExercise): Promise<GradeReport> {
  const record = readRecord(running.lab);
  const plan = readPlan(running.lab);
  if (!record || !plan || record.phase !== 'ready') throw new Error(`lab ${running.lab} of exercise ${ex.id} is not up; start it again: kube-netlab exercise start ${ex.id}`);
  const base = { exercise: ex.id, lab: running.lab };
  if (record.createdAt !== running.labCreatedAt) return { ...base, ...grade({ exercise: ex.id, rebuiltAt: record.createdAt, symptom: [], fault: running.fault, differences: [] }) };
  const script = await loadFault(ex);
  const probes = script.symptom(exerciseContext(plan, () => {}));
  const [symptom, checked] = await Promise.all([Promise.all(probes.map((p) => runProbe(p))), checkLab(plan)]);
  let verify: { passed: number; failed: string[] } | undefined;
  if (!checked.differences.length) {
    // `check` just ran; verify runs every path and test after it.
    const report = await verifyLab(plan, { only: new Set([...VERIFY_PATHS.filter((p) => p !== 'CHECK'), REACHABILITY]) });
    verify = { passed: counts(report).passed, failed: report.results.filter((r) => !r.ok).map((r) => `${r.name}${r.details[0] ? `: ${r.details[0]}` : ''}`) };
  }
  const g = grade({ exercise: ex.id, symptom, fault: running.fault, differences: checked.differences, ...(verify ? { verify } : {}) });
  if (g.passed) recordSolved(ex.id, running.solved ? 'solve' : 'learner');
  return { ...base, ...g };
}

export async function solveExercise(ex: Exercise, running: RunningExercise, log: Log): Promise<void> {
  const plan = readPlan(running.lab);
  if (!plan) throw new Error(`lab ${running.lab} is not up; start the exercise again: kube-netlab exercise start ${ex.id}`);
  const script = await loadFault(ex);
  await script.fix(exerciseContext(plan, log));
  writeRunning({ ...running, solved: true });
}

export async function stopExercise(lab: string): Promise<{ namespaces: number; processes: number }> {
  const r = await downLab(lab);
  removeRunning(lab);
  return r;
}
