/** Files other processes read while we write them (state, records, pid files). */
import { renameSync, writeFileSync } from 'node:fs';

/** Writes a file so readers never see half of it: a temporary file, then a rename over the old one. */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}
