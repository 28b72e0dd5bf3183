/** Where the CLI writes: results to stdout, progress and notices to stderr. */
import type { Notice } from '../model/types.js';

export function progress(line: string): void {
  process.stderr.write(`kube-netlab: ${line}\n`);
}

export function printNotices(notices: Notice[]): void {
  for (const n of notices) {
    const where = n.source ? `${n.source.file}:${n.source.line}: ` : '';
    process.stderr.write(`notice: ${where}${n.message}\n`);
  }
}

export function out(text: string): void {
  process.stdout.write(text);
}
