/**
 * Error classes shared by every layer. The CLI maps them to exit codes:
 * 2 bad input (nothing changed), 3 environment problem, 1 anything else.
 * Code branches on the class or `code`, never on message text.
 */
import type { SourceRef } from './source-ref.js';

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_ENVIRONMENT = 3;

export type ConfigErrorCode =
  | 'yaml-syntax'
  | 'unknown-field'
  | 'bad-value'
  | 'missing-field'
  | 'bad-name'
  | 'duplicate'
  | 'cidr-overlap'
  | 'capacity'
  | 'unknown-node'
  | 'no-lab'
  | 'file';

export interface ConfigProblem {
  code: ConfigErrorCode;
  message: string;
  source?: SourceRef;
}

function where(source?: SourceRef): string {
  if (!source) return '';
  return `${source.file}:${source.line}${source.col ? `:${source.col}` : ''}: `;
}

/** Bad input. Holds every problem found, so the user can fix them in one go. */
export class ConfigError extends Error {
  readonly exitCode = EXIT_BAD_INPUT;
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map((p) => `${where(p.source)}${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
  get code(): ConfigErrorCode | undefined {
    return this.problems[0]?.code;
  }
}

/** The machine cannot run the lab: not root, a tool or kernel feature missing. */
export class EnvironmentError extends Error {
  readonly exitCode = EXIT_ENVIRONMENT;
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n  ${hint}` : message);
    this.name = 'EnvironmentError';
  }
}

/** A command the lab ran failed; carries everything needed to reproduce it. */
export class CommandError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly argv: string[],
    readonly result: { exitCode?: number; stderr: string; stdout: string; durationMs: number },
    readonly context: string,
    readonly input?: string,
  ) {
    const stderr = result.stderr.trim();
    super(
      `${context}: \`${argv.join(' ')}\` exited ${result.exitCode ?? 'abnormally'}` +
        (stderr ? `\n  ${stderr.split('\n').join('\n  ')}` : ''),
    );
    this.name = 'CommandError';
  }
}

/** A lab that does not exist, or an object in it that does not. */
export class LabNotFoundError extends Error {
  readonly exitCode = EXIT_BAD_INPUT;
  constructor(message: string) {
    super(message);
    this.name = 'LabNotFoundError';
  }
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') {
    return err.exitCode;
  }
  return 1;
}
