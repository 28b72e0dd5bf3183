/** Small typed readers over a Cursor that record problems instead of throwing. */
import type { ConfigProblem } from '../util/errors.js';
import type { Cursor } from './source.js';

export class Reader {
  constructor(readonly problems: ConfigProblem[]) {}

  /** Every key of `map` must be one of `allowed`; others are errors at their own line. */
  strict(map: Cursor, allowed: string[], where: string): void {
    if (!map.exists) return;
    if (!map.isMap) {
      this.problems.push({ code: 'bad-value', source: map.ref, message: `${where} must be a mapping` });
      return;
    }
    for (const key of map.keys()) {
      if (!allowed.includes(key)) {
        this.problems.push({
          code: 'unknown-field',
          source: map.keyRef(key),
          message: `unknown field '${key}' in ${where}; allowed: ${allowed.join(', ')}`,
        });
      }
    }
  }

  string(c: Cursor, where: string, fallback?: string): string | undefined {
    if (!c.exists) return fallback;
    if (typeof c.value !== 'string' || c.value === '') {
      this.problems.push({ code: 'bad-value', source: c.ref, message: `${where} must be a non-empty string` });
      return fallback;
    }
    return c.value;
  }

  integer(c: Cursor, where: string, min: number, max: number, fallback?: number): number | undefined {
    if (!c.exists) return fallback;
    const v = c.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.problems.push({ code: 'bad-value', source: c.ref, message: `${where} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}` });
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(c: Cursor, where: string, allowed: readonly T[], fallback: T): T {
    if (!c.exists) return fallback;
    if (!allowed.includes(c.value as T)) {
      this.problems.push({ code: 'bad-value', source: c.ref, message: `${where} must be one of ${allowed.join(', ')}, not ${JSON.stringify(c.value)}` });
      return fallback;
    }
    return c.value as T;
  }

  /** A map of strings (labels, nodeSelector). */
  stringMap(c: Cursor, where: string): Record<string, string> | undefined {
    if (!c.exists) return undefined;
    const v = c.value;
    if (!c.isMap || typeof v !== 'object' || v === null) {
      this.problems.push({ code: 'bad-value', source: c.ref, message: `${where} must be a mapping of strings` });
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') {
        this.problems.push({ code: 'bad-value', source: c.keyRef(k), message: `${where}.${k} must be a string` });
        continue;
      }
      out[k] = String(val);
    }
    return out;
  }

  list(c: Cursor, where: string): Cursor[] {
    if (!c.exists) return [];
    if (!c.isSeq) {
      this.problems.push({ code: 'bad-value', source: c.ref, message: `${where} must be a list` });
      return [];
    }
    return c.items();
  }
}
