/**
 * The exercises: one folder each under lab/exercises/, its id the folder
 * name. `exercise.yaml` holds what a learner reads (title, the statement as
 * a ticket would put it, three hint tiers) and what the lab needs (the seed
 * path, the difficulty, the lab file); `fault.mjs` holds the break, the
 * reference fix, a wrong fix and the symptom's probes (see context.ts).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { labelProblem } from '../config/names.js';
import { ConfigError, LabNotFoundError, type ConfigProblem } from '../util/errors.js';

export const DIFFICULTIES = ['beginner', 'intermediate', 'advanced'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];
export const SEED_PATHS = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9', 'P10', 'P11', 'P12', 'P13'] as const;

export interface Exercise {
  id: string;
  dir: string;
  title: string;
  /** The seed path it is about. */
  path: (typeof SEED_PATHS)[number];
  difficulty: Difficulty;
  /** The lab file it runs on: the default lab, or a file of its own folder. */
  labFile: string;
  statement: string;
  /** Where to look, which commands show it, what to compare it with. */
  hints: [string, string, string];
  /** What `check` names once the fault is in: the place and the object, for instructors and the tests. */
  fault: string[];
  wrongFix: { describe: string; rejects: string; rebuild: boolean };
}

export function exercisesDir(): string {
  return process.env.KUBE_NETLAB_EXERCISES ?? fileURLToPath(new URL('../../lab/exercises', import.meta.url));
}

export function defaultLabFile(): string {
  return fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));
}

const FIELDS = ['title', 'path', 'difficulty', 'lab', 'statement', 'hints', 'fault', 'wrongFix'];

/** Reads one exercise.yaml; every problem carries the file and line. */
export function parseExercise(id: string, dir: string, text: string, file = join(dir, 'exercise.yaml')): Exercise {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const problems: ConfigProblem[] = [];
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0] ?? 0;
    const pos = lines.linePos(offset);
    return { file, line: pos.line, col: pos.col };
  };
  const fail = (node: Node | null | undefined, message: string) => problems.push({ code: 'bad-value', message, source: at(node) });
  for (const e of doc.errors) problems.push({ code: 'yaml-syntax', message: e.message, source: { file, line: e.linePos?.[0]?.line ?? 1 } });
  const root = doc.contents;
  if (!isMap(root)) throw new ConfigError([...problems, { code: 'bad-value', message: 'an exercise is a mapping of title, path, difficulty, lab, statement, hints, fault, wrongFix', source: { file, line: 1 } }]);
  for (const item of root.items) {
    const key = isScalar(item.key) ? String(item.key.value) : '';
    if (!FIELDS.includes(key)) problems.push({ code: 'unknown-field', message: `unknown field '${key}'; an exercise has ${FIELDS.join(', ')}`, source: at(item.key as Node) });
  }
  const node = (key: string) => root.get(key, true) as Node | undefined;
  const text1 = (key: string, parent: YAMLMap = root): string => {
    const n = parent.get(key, true) as Node | undefined;
    if (!isScalar(n) || typeof n.value !== 'string' || !n.value.trim()) {
      fail(n ?? parent, `${key} must be a non-empty string`);
      return '';
    }
    return n.value.trim();
  };
  const idProblem = labelProblem(id, `exercise id (the folder name) '${id}'`);
  if (idProblem) problems.push({ code: 'bad-name', message: idProblem, source: { file, line: 1 } });
  const title = text1('title');
  const path = text1('path');
  if (path && !(SEED_PATHS as readonly string[]).includes(path)) fail(node('path'), `path '${path}' is not a seed path; one of ${SEED_PATHS.join(', ')}`);
  const difficulty = text1('difficulty');
  if (difficulty && !(DIFFICULTIES as readonly string[]).includes(difficulty)) fail(node('difficulty'), `difficulty '${difficulty}' must be one of ${DIFFICULTIES.join(', ')}`);
  const lab = text1('lab');
  const labFile = lab === 'default' ? defaultLabFile() : join(dir, lab);
  if (lab && lab !== 'default' && (lab.includes('/') || !existsSync(labFile))) fail(node('lab'), `lab '${lab}' must be 'default' or a file in ${dir}`);
  const statement = text1('statement');
  const hintsNode = node('hints');
  const hints = isSeq(hintsNode) ? hintsNode.items.map((h) => (isScalar(h) && typeof h.value === 'string' ? h.value.trim() : '')) : [];
  if (hints.length !== 3 || hints.some((h) => !h)) fail(hintsNode ?? root, 'hints must list three tiers: where to look, which commands show it, what to compare it with');
  const faultNode = node('fault');
  const fault = isSeq(faultNode) ? faultNode.items.map((h) => (isScalar(h) ? String(h.value) : '')) : [];
  if (!fault.length || fault.some((f) => !f)) fail(faultNode ?? root, 'fault must list what check names once the fault is in, e.g. [node2, sysctl net.ipv4.ip_forward]');
  const wrongNode = node('wrongFix');
  let wrongFix = { describe: '', rejects: '', rebuild: false };
  if (!isMap(wrongNode)) fail(wrongNode ?? root, 'wrongFix must say what the wrong fix does (describe) and what the grader answers (rejects)');
  else {
    const rebuild = wrongNode.get('rebuild');
    wrongFix = { describe: text1('describe', wrongNode), rejects: text1('rejects', wrongNode), rebuild: rebuild === true };
  }
  if (!existsSync(join(dir, 'fault.mjs'))) problems.push({ code: 'file', message: `${join(dir, 'fault.mjs')} is missing: it holds the break, the fix and the probes`, source: { file, line: 1 } });
  if (problems.length) throw new ConfigError(problems);
  return { id, dir, title, path: path as Exercise['path'], difficulty: difficulty as Difficulty, labFile, statement, hints: hints as [string, string, string], fault, wrongFix };
}

/** Every exercise, in the order of the seeds' story: by path, then by difficulty. */
export function listExercises(root = exercisesDir()): Exercise[] {
  const ids = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const all = ids.map((id) => parseExercise(id, join(root, id), readFileSync(join(root, id, 'exercise.yaml'), 'utf8')));
  const rank = (e: Exercise) => SEED_PATHS.indexOf(e.path) * 10 + DIFFICULTIES.indexOf(e.difficulty);
  return all.sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}

export function findExercise(id: string, root = exercisesDir()): Exercise {
  const problem = labelProblem(id, `exercise '${id}'`);
  if (problem || !existsSync(join(root, id, 'exercise.yaml'))) {
    const ids = existsSync(root) ? listExercises(root).map((e) => e.id) : [];
    throw new LabNotFoundError(`no exercise '${id}'; see kube-netlab exercise list (${ids.length} exercises: ${ids.join(', ')})`);
  }
  return parseExercise(id, join(root, id), readFileSync(join(root, id, 'exercise.yaml'), 'utf8'));
}
