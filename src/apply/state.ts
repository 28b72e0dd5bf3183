/**
 * What a lab leaves under the run directory (`/run/kube-netlab/<lab>/`,
 * tmpfs, so a reboot forgets labs together with their namespaces):
 *   lab.json    written first by `up`: the lab exists from then on, for `down`
 *   plan.json   the plan the lab was built from (read by get/exec/verify/agent)
 *   holders.json  netns → pid of the process holding it (pause processes)
 *   agent.json, agent.sock, agent.log   the agent (its state: pid, socket, plan version)
 * `KUBE_NETLAB_RUN_DIR` moves it, so tests can keep labs apart.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../util/files.js';
import type { Plan } from '../model/types.js';

export function runRoot(): string {
  return process.env.KUBE_NETLAB_RUN_DIR ?? '/run/kube-netlab';
}

/** The process marker of a lab: its name and run directory, so labs of different run directories never claim each other's processes. */
export function ownerOf(lab: string): string {
  return `${lab}@${runRoot()}`;
}

/** The lab of a marker, when it belongs to this run directory. */
export function labOfOwner(owner: string): string | undefined {
  const at = owner.indexOf('@');
  return at > 0 && owner.slice(at + 1) === runRoot() ? owner.slice(0, at) : undefined;
}

export function labDir(lab: string): string {
  return join(runRoot(), lab);
}

export type LabPhase = 'creating' | 'ready' | 'failed';

export interface LabRecord {
  name: string;
  phase: LabPhase;
  files: string[];
  createdAt: string;
  updatedAt: string;
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function writeRecord(record: LabRecord): void {
  mkdirSync(labDir(record.name), { recursive: true });
  writeAtomic(join(labDir(record.name), 'lab.json'), JSON.stringify(record, null, 2) + '\n');
}

export function readRecord(lab: string): LabRecord | undefined {
  return readJson<LabRecord>(join(labDir(lab), 'lab.json'));
}

export function writePlan(plan: Plan): void {
  writeAtomic(join(labDir(plan.lab), 'plan.json'), JSON.stringify(plan, null, 2) + '\n');
}

export function readPlan(lab: string): Plan | undefined {
  const plan = readJson<Plan>(join(labDir(lab), 'plan.json'));
  return plan?.version === 1 ? plan : undefined;
}

export function writeHolders(lab: string, holders: Record<string, number>): void {
  writeAtomic(join(labDir(lab), 'holders.json'), JSON.stringify(holders, null, 2) + '\n');
}

export function readHolders(lab: string): Record<string, number> {
  return readJson<Record<string, number>>(join(labDir(lab), 'holders.json')) ?? {};
}

/** Labs that have a run directory, whatever their phase. */
/** Replica counts set by `scale`, by `<namespace>/<deployment>`; they win over the lab file until the next `apply` or `up`. */
export function writeScale(lab: string, replicas: Record<string, number>): void {
  writeAtomic(join(labDir(lab), 'scale.json'), JSON.stringify(replicas, null, 2) + '\n');
}

export function readScale(lab: string): Record<string, number> {
  return readJson<Record<string, number>>(join(labDir(lab), 'scale.json')) ?? {};
}

export function knownLabs(): string[] {
  try {
    return readdirSync(runRoot(), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

export function removeLabDir(lab: string): void {
  rmSync(labDir(lab), { recursive: true, force: true });
}
