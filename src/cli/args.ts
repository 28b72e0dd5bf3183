/**
 * A small argv parser for the CLI contract: flags may come before or after
 * positionals, `-f` repeats, `--` ends option parsing (for `exec`).
 */
import { ConfigError } from '../util/errors.js';

export interface ParsedArgs {
  positionals: string[];
  /** Everything after `--`. */
  rest: string[];
  flags: Map<string, string[]>;
}

export interface FlagSpec {
  /** Long name without dashes. */
  name: string;
  short?: string;
  /** Takes a value (otherwise boolean). */
  value?: boolean;
}

export function usageError(message: string): ConfigError {
  return new ConfigError([{ code: 'bad-value', message }]);
}

export function parseArgs(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const out: ParsedArgs = { positionals: [], rest: [], flags: new Map() };
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.rest = argv.slice(i + 1);
      break;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const [name, value] = arg.slice(2).split(/=(.*)/s, 2);
      spec = byLong.get(name!);
      inline = value;
      if (!spec) throw usageError(`unknown option ${arg}; known: ${specs.map((s) => `--${s.name}`).join(', ')}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      spec = byShort.get(arg.slice(1, 2));
      if (!spec) throw usageError(`unknown option ${arg}`);
      if (arg.length > 2) inline = arg.slice(2);
    } else {
      out.positionals.push(arg);
      continue;
    }
    let value = 'true';
    if (spec.value) {
      value = inline ?? argv[++i] ?? '';
      if (value === '' || (inline === undefined && value.startsWith('-') && value !== '-')) {
        throw usageError(`option --${spec.name} needs a value`);
      }
    }
    out.flags.set(spec.name, [...(out.flags.get(spec.name) ?? []), value]);
  }
  return out;
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.at(-1);
}

export function flagList(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

export function has(args: ParsedArgs, name: string): boolean {
  return args.flags.has(name);
}
