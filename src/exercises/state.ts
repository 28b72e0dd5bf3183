/**
 * What an exercise leaves on the machine:
 *   <run dir>/<lab>.exercise.json   the running exercise: its id, when its lab was made, what the fault touched, hints given
 *   <state dir>/solved.json         exercises solved on this machine (kept across reboots; KUBE_NETLAB_STATE_DIR moves it)
 * The running exercise lives beside the lab's directory, not in it, so a
 * rebuild of the lab (`up`) does not erase the record that tells the
 * grader the lab was rebuilt.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Difference } from '../check/compare.js';
import { runRoot } from '../apply/state.js';
import { writeAtomic } from '../util/files.js';

export interface RunningExercise {
  id: string;
  lab: string;
  /** `createdAt` of the lab when the fault went in; another value means the lab was rebuilt. */
  labCreatedAt: string;
  startedAt: string;
  /** What `check` named right after the fault went in. */
  fault: Difference[];
  hints: number;
  /** `solve` was used since the fault went in. */
  solved?: boolean;
}

const SUFFIX = '.exercise.json';

function runningFile(lab: string): string {
  return join(runRoot(), `${lab}${SUFFIX}`);
}

export function writeRunning(e: RunningExercise): void {
  mkdirSync(runRoot(), { recursive: true });
  writeAtomic(runningFile(e.lab), JSON.stringify(e, null, 2) + '\n');
}

export function readRunning(lab: string): RunningExercise | undefined {
  try {
    return JSON.parse(readFileSync(runningFile(lab), 'utf8')) as RunningExercise;
  } catch {
    return undefined;
  }
}

export function removeRunning(lab: string): void {
  rmSync(runningFile(lab), { force: true });
}

/** Labs with an exercise running. */
export function runningLabs(): string[] {
  try {
    return readdirSync(runRoot())
      .filter((f) => f.endsWith(SUFFIX))
      .map((f) => f.slice(0, -SUFFIX.length))
      .sort();
  } catch {
    return [];
  }
}

export interface SolvedRecord {
  at: string;
  /** `check` passed after the learner's own fix, or after `solve`. */
  by: 'learner' | 'solve';
}

function stateDir(): string {
  return process.env.KUBE_NETLAB_STATE_DIR ?? '/var/lib/kube-netlab';
}

export function readSolved(): Record<string, SolvedRecord> {
  try {
    return JSON.parse(readFileSync(join(stateDir(), 'solved.json'), 'utf8')) as Record<string, SolvedRecord>;
  } catch {
    return {};
  }
}

/** A learner's own solution is never downgraded by a later `solve`. */
export function recordSolved(id: string, by: SolvedRecord['by'], at = new Date().toISOString()): void {
  const all = readSolved();
  if (all[id]?.by === 'learner' && by === 'solve') return;
  all[id] = { at, by };
  mkdirSync(stateDir(), { recursive: true });
  writeAtomic(join(stateDir(), 'solved.json'), JSON.stringify(all, null, 2) + '\n');
}
