/** Lab files from paths: files as given, directories as their *.yaml / *.yml files in name order. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../util/errors.js';

export interface SourceText {
  file: string;
  text: string;
}

export function readSources(paths: string[]): SourceText[] {
  const out: SourceText[] = [];
  for (const p of paths) {
    const path = resolve(p);
    let files: string[];
    try {
      files = statSync(path).isDirectory()
        ? readdirSync(path)
            .filter((f) => /\.ya?ml$/.test(f))
            .sort()
            .map((f) => join(path, f))
        : [path];
    } catch (err) {
      throw new ConfigError([{ code: 'file', message: `cannot read lab file ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
    }
    if (files.length === 0) throw new ConfigError([{ code: 'file', message: `directory ${p} holds no .yaml or .yml files` }]);
    for (const file of files) {
      try {
        out.push({ file, text: readFileSync(file, 'utf8') });
      } catch (err) {
        throw new ConfigError([{ code: 'file', message: `cannot read lab file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
      }
    }
  }
  return out;
}
