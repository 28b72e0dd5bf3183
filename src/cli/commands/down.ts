import { allLabs, downLab } from '../../apply/down.js';
import { checkEnvironment } from '../../apply/environment.js';
import { knownLabs } from '../../apply/state.js';
import { removeRunning, runningLabs } from '../../exercises/state.js';
import { loadLab } from '../../config/index.js';
import { flag, flagList, has, type ParsedArgs } from '../args.js';
import { progress } from '../output.js';

export async function downCommand(args: ParsedArgs): Promise<number> {
  checkEnvironment(['ip']);
  let labs: string[];
  const name = flag(args, 'name');
  const files = flagList(args, 'file');
  if (has(args, 'all')) labs = [...new Set([...allLabs(), ...runningLabs()])];
  else if (name) labs = [name];
  else if (files.length) labs = [loadLab(files).name];
  else {
    labs = knownLabs();
    if (labs.length > 1) {
      progress(`several labs are up (${labs.join(', ')}); choose one with --name, or remove them all with --all`);
      return 2;
    }
  }
  if (labs.length === 0) progress('no lab to remove');
  for (const lab of labs) {
    const started = performance.now();
    const r = await downLab(lab);
    // An exercise dies with its lab.
    removeRunning(lab);
    progress(`lab ${lab} removed (${r.namespaces} namespaces, ${r.processes} processes) in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  }
  return 0;
}
