/**
 * Lab files from paths: a file as given, a directory as its *.yaml / *.yml
 * files in name order (not recursive, like `kubectl apply -f DIR`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from '../util/errors.js';
import type { SourceText } from './documents.js';

const YAML_FILE = /\.ya?ml$/;

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'it does not exist';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'it is a directory';
  return e.code ?? e.message;
}

/** The files `path` stands for, or a problem saying why it stands for none. */
function expand(given: string): string[] | ConfigProblem {
  const full = resolve(given);
  try {
    if (!statSync(full).isDirectory()) return [full];
    const files = readdirSync(full, { withFileTypes: true })
      .filter((e) => YAML_FILE.test(e.name) && !e.isDirectory())
      .map((e) => e.name)
      .sort()
      .map((f) => join(full, f));
    if (files.length === 0) return { code: 'file', message: `directory ${given} holds no .yaml or .yml files` };
    return files;
  } catch (err) {
    return { code: 'file', message: `cannot read ${given}: ${reason(err)}` };
  }
}

/** Reads every file; all unreadable paths are reported together. */
export function readLabFiles(paths: string[]): SourceText[] {
  if (paths.length === 0) throw new ConfigError([{ code: 'file', message: 'no lab file given; pass one with -f FILE (a file or a directory of .yaml files)' }]);
  const problems: ConfigProblem[] = [];
  const out: SourceText[] = [];
  // A file named twice (directly and through its directory) is read once.
  const seen = new Set<string>();
  for (const given of paths) {
    const files = expand(given);
    if (!Array.isArray(files)) {
      problems.push(files);
      continue;
    }
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      try {
        out.push({ file, text: readFileSync(file, 'utf8') });
      } catch (err) {
        problems.push({ code: 'file', message: `cannot read lab file ${file}: ${reason(err)}` });
      }
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}
