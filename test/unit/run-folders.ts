/**
 * Runs the unit test files of some folders in one process, one file after
 * another, as `npm test` does. A test process costs about a second before
 * its first assertion (tsx, tap's loaders), more than most unit files take
 * to run, so the unit suite runs as a few such groups, two at a time, next
 * to the integration files. Each file still runs on its own with
 * `npx tap test/unit/<folder>/<file>.test.ts`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []))
    .sort();
}

/** Imports every `*.test.ts` under `folders` (relative to test/unit), in path order. */
export async function runFolders(folders: readonly string[]): Promise<void> {
  const root = fileURLToPath(new URL('.', import.meta.url));
  for (const folder of folders) {
    for (const file of testFiles(join(root, folder))) await import(pathToFileURL(file).href);
  }
}
