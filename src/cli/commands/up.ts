import { loadLab } from '../../config/index.js';
import { checkEnvironment } from '../../apply/environment.js';
import { upLab } from '../../apply/up.js';
import { flag, flagList, type ParsedArgs } from '../args.js';
import { filesFor } from '../resolve.js';
import { printNotices, progress } from '../output.js';

export async function upCommand(args: ParsedArgs): Promise<number> {
  checkEnvironment();
  const name = flag(args, 'name');
  const files = filesFor({ files: flagList(args, 'file'), name });
  const spec = loadLab(files, name ? { name } : {});
  printNotices(spec.notices);
  const started = performance.now();
  const plan = await upLab(spec, { log: progress });
  progress(
    `ready in ${((performance.now() - started) / 1000).toFixed(2)} s: ${plan.nodes.length} nodes, ${plan.pods.length} pods, backend ${plan.spec.podNetwork.backend}. ` +
      `Try: kube-netlab get pods -o wide --name ${plan.lab}; kube-netlab verify --name ${plan.lab}`,
  );
  return 0;
}
