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

/**
 * A progress line that rewrites itself on a terminal (`\r`), and says nothing
 * when stderr is a file or a pipe, where a line per step would only be noise.
 * `done()` ends the line.
 */
export function liveProgress(): { update(line: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  return {
    update(line) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[2Kkube-netlab: ${line}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}
