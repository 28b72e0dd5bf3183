/**
 * Removes everything a lab made, found from the lab name alone: processes
 * marked with the lab, processes inside its namespaces, namespaces named
 * `<lab>.*`, their /etc/netns entries and the run directory. Works after a
 * crash half-way through `up`, and again on a lab already gone.
 */
import { readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { labPrefix } from '../model/names.js';
import { NETNS_ETC } from '../render/files.js';
import { deleteNamespaces, listNamespaces, netnsPath } from '../kernel/netns.js';
import { killAll, markedProcesses, processesInNamespaces } from '../kernel/procs.js';
import { knownLabs, labOfOwner, ownerOf, removeLabDir } from './state.js';

export interface DownResult {
  lab: string;
  namespaces: number;
  processes: number;
}

export async function downLab(lab: string): Promise<DownResult> {
  const prefix = labPrefix(lab);
  const namespaces = listNamespaces().filter((n) => n.startsWith(prefix));
  // Processes first: a namespace with a process left in it survives `netns del`.
  const found = () => [...(markedProcesses((o) => o === ownerOf(lab)).get(ownerOf(lab)) ?? []), ...processesInNamespaces(namespaces.map(netnsPath))];
  const pids = found();
  await killAll(pids);
  // What started while the first ones were stopped (an agent starting its daemons as it was told to stop) goes too.
  for (let pass = 0; pass < 3; pass++) {
    const late = found().filter((p) => !pids.includes(p));
    if (!late.length) break;
    pids.push(...late);
    await killAll(late);
  }
  await deleteNamespaces(namespaces);
  removeEtcEntries(prefix);
  removeLabDir(lab);
  return { lab, namespaces: namespaces.length, processes: new Set(pids).size };
}

function removeEtcEntries(prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(NETNS_ETC);
  } catch {
    return;
  }
  for (const e of entries) if (e.startsWith(prefix)) rmSync(join(NETNS_ETC, e), { recursive: true, force: true });
  try {
    rmdirSync(NETNS_ETC); // only succeeds when nothing else uses it
  } catch {
    // Not empty: other namespaces keep files there.
  }
}

/** Every lab this machine has: run directories, and processes marked by a lab whose directory is gone. */
export function allLabs(): string[] {
  const marked = [...markedProcesses((o) => labOfOwner(o) !== undefined).keys()].map((o) => labOfOwner(o)!);
  return [...new Set([...knownLabs(), ...marked])].sort();
}
