/** Files other processes read while we write them (state, records, pid files). */
import { renameSync, statSync, writeFileSync } from 'node:fs';

/** Writes a file so readers never see half of it: a temporary file, then a rename over the old one. */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** What changes when a file is replaced by rename (the inode) or edited in place (mtime, size); throws if it is missing. */
export function fileIdentity(path: string): string {
  const st = statSync(path);
  return `${st.ino}:${st.mtimeMs}:${st.size}`;
}
