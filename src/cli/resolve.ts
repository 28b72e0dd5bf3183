/**
 * Which lab a verb acts on (design §5): `--name`, else the lab file's name
 * when `-f` is given, else the only lab that is up.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../config/index.js';
import { knownLabs, readPlan, readRecord } from '../apply/state.js';
import type { Plan } from '../model/types.js';
import { LabNotFoundError } from '../util/errors.js';

/** lab/default.yaml of this package, used when `up` gets no file. */
export function defaultLabFile(): string {
  return fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));
}

export function resolveLabName(opts: { name?: string; files: string[] }): string {
  if (opts.name) return opts.name;
  if (opts.files.length) return loadLab(opts.files).name;
  const labs = knownLabs();
  if (labs.length === 1) return labs[0]!;
  if (labs.length === 0) {
    throw new LabNotFoundError("no lab is up; start one with 'npm run lab:up' or 'kube-netlab up -f FILE'");
  }
  throw new LabNotFoundError(`several labs are up (${labs.join(', ')}); choose one with --name`);
}

export function requirePlan(lab: string): Plan {
  const plan = readPlan(lab);
  if (!plan || readRecord(lab)?.phase !== 'ready') {
    const labs = knownLabs();
    throw new LabNotFoundError(
      `lab '${lab}' is not up${labs.length ? ` (labs up: ${labs.join(', ')})` : ''}; start it with 'kube-netlab up'`,
    );
  }
  return plan;
}

export function filesFor(args: { files: string[]; name?: string }): string[] {
  if (args.files.length) return args.files;
  const record = args.name ? readRecord(args.name) : undefined;
  if (record?.files.length && record.files.every((f) => existsSync(f))) return record.files;
  return [defaultLabFile()];
}
