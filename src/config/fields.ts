/**
 * Typed readers over a Cursor. They record a problem and return a fallback
 * instead of throwing, so one pass over the input finds every problem.
 */
import type { ConfigErrorCode, ConfigProblem } from '../util/errors.js';
import type { SourceRef } from '../spec/lab.js';
import type { Cursor } from './documents.js';

export class Reader {
  constructor(readonly problems: ConfigProblem[]) {}

  add(code: ConfigErrorCode, source: SourceRef | undefined, message: string): void {
    this.problems.push(source ? { code, source, message } : { code, message });
  }

  /** A mapping, or a problem saying so; absent is fine. */
  map(c: Cursor, where: string): boolean {
    if (!c.exists) return false;
    if (!c.isMap) {
      this.add('bad-value', c.ref, `${where} must be a mapping (key: value lines), not ${describe(c.value)}`);
      return false;
    }
    return true;
  }

  /** Every key of `c` must be one of `allowed`; each other key is a problem at its own line. */
  strict(c: Cursor, allowed: readonly string[], where: string): void {
    if (!this.map(c, where)) return;
    for (const key of c.keys()) {
      if (!allowed.includes(key)) {
        this.add('unknown-field', c.keyRef(key), `unknown field '${key}' in ${where}; allowed: ${allowed.join(', ')}`);
      }
    }
  }

  required(c: Cursor, where: string, hint = ''): boolean {
    if (c.exists) return true;
    this.add('missing-field', c.ref, `${where} is required${hint}`);
    return false;
  }

  string(c: Cursor, where: string): string | undefined {
    if (!c.exists) return undefined;
    if (typeof c.value !== 'string' || c.value === '') {
      this.add('bad-value', c.ref, `${where} must be a non-empty string, not ${describe(c.value)}`);
      return undefined;
    }
    return c.value;
  }

  integer(c: Cursor, where: string, min: number, max: number): number | undefined {
    if (!c.exists) return undefined;
    const v = c.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.add('bad-value', c.ref, `${where} must be an integer from ${min} to ${max}, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  boolean(c: Cursor, where: string): boolean | undefined {
    if (!c.exists) return undefined;
    if (typeof c.value !== 'boolean') {
      this.add('bad-value', c.ref, `${where} must be true or false, not ${describe(c.value)}`);
      return undefined;
    }
    return c.value;
  }

  oneOf<T extends string>(c: Cursor, where: string, allowed: readonly T[]): T | undefined {
    if (!c.exists) return undefined;
    if (!allowed.includes(c.value as T)) {
      this.add('bad-value', c.ref, `${where} must be one of ${allowed.join(', ')}, not ${describe(c.value)}`);
      return undefined;
    }
    return c.value as T;
  }

  /**
   * A map of strings (labels, nodeSelector). Kubernetes refuses unquoted
   * numbers and booleans here, so the lab does too rather than guess.
   */
  stringMap(c: Cursor, where: string): Record<string, string> | undefined {
    if (!this.map(c, where)) return undefined;
    const out: Record<string, string> = {};
    for (const key of c.keys()) {
      const v = c.get(key).value ?? '';
      if (typeof v !== 'string') {
        this.add('bad-value', c.get(key).ref, `${where}: the value of '${key}' must be a string; quote it: '${String(v)}'`);
        continue;
      }
      out[key] = v;
    }
    return out;
  }

  list(c: Cursor, where: string): Cursor[] {
    if (!c.exists) return [];
    if (!c.isSeq) {
      this.add('bad-value', c.ref, `${where} must be a list, not ${describe(c.value)}`);
      return [];
    }
    return c.items();
  }
}

/** A short rendering of a value for messages. */
export function describe(v: unknown): string {
  if (v === undefined || v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}
