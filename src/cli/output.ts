/** Where the CLI writes: results to stdout, progress and notices to stderr. */
import type { Notice } from '../spec/lab.js';

export function progress(line: string): void {
  process.stderr.write(`kube-netlab: ${line}\n`);
}

export function printNotices(notices: Notice[]): void {
  // Each message already names its file:line where it has one.
  for (const n of notices) process.stderr.write(`notice: ${n.message}\n`);
}

export function out(text: string): void {
  process.stdout.write(text);
}
