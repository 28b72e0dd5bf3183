/**
 * `apply -f FILE... [--name N]` and `scale [-n NS] deploy/NAME|sts/NAME --replicas N`:
 * change a running lab's pods and services in place. Pods untouched by the
 * change keep their namespace, IP and connections; kube-proxy rewrites only
 * the chains of the services that changed.
 */
import { applyLab } from '../../apply/apply.js';
import { checkEnvironment } from '../../apply/environment.js';
import { readRecord, readScale, writeScale } from '../../apply/state.js';
import { deploymentKey, loadLab, statefulSetKey } from '../../config/index.js';
import { flag, flagList, usageError, type ParsedArgs } from '../args.js';
import { printNotices, progress } from '../output.js';
import { filesFor, resolveLabName } from '../resolve.js';

async function applyAndReport(files: string[], name: string | undefined, replicas: Record<string, number>): Promise<number> {
  const spec = loadLab(files, { ...(name ? { name } : {}), replicas });
  printNotices(spec.notices);
  const started = performance.now();
  const r = await applyLab(spec, progress);
  progress(
    `applied in ${((performance.now() - started) / 1000).toFixed(2)} s: ${r.added.length} pod(s) added, ${r.removed.length} removed, ${r.unchanged} unchanged; ` +
      `${r.plan.services.length} service(s)`,
  );
  return 0;
}

export async function applyCommand(args: ParsedArgs): Promise<number> {
  checkEnvironment();
  const files = flagList(args, 'file');
  if (files.length === 0) throw usageError('apply needs -f FILE (or a directory)');
  const name = flag(args, 'name');
  const lab = resolveLabName({ name, files });
  // The file now says how many replicas each Deployment has, as `kubectl apply` would.
  writeScale(lab, {});
  return applyAndReport(filesFor({ files, name }), name, {});
}

export async function scaleCommand(args: ParsedArgs): Promise<number> {
  checkEnvironment();
  const [target] = args.positionals;
  const m = /^(deploy|deployment|deployments|deployment\.apps|sts|statefulset|statefulsets|statefulset\.apps)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(target ?? '');
  if (!m) throw usageError(`scale what? e.g. scale deploy/web --replicas 3, or scale sts/db --replicas 2 (got '${target ?? ''}')`);
  const text = flag(args, 'replicas');
  const replicas = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || replicas > 1000) throw usageError(`--replicas takes a whole number from 0 to 1000 (got '${text ?? ''}')`);
  const name = flag(args, 'name');
  const lab = resolveLabName({ name, files: [] });
  const record = readRecord(lab);
  if (!record) throw usageError(`lab ${lab} is not up`);
  const namespace = flag(args, 'namespace') ?? 'default';
  const object = { namespace, name: m[2]! };
  const sts = m[1]!.startsWith('s');
  const scale = { ...readScale(lab), [sts ? statefulSetKey(object) : deploymentKey(object)]: replicas };
  const spec = loadLab(record.files, { name: lab, replicas: scale });
  if (!(sts ? spec.statefulSets : spec.deployments).includes(`${namespace}/${object.name}`)) {
    throw usageError(`${sts ? 'statefulset' : 'deployment'} ${namespace}/${object.name} is not in lab ${lab} (files: ${record.files.join(', ')})`);
  }
  writeScale(lab, scale);
  return applyAndReport(record.files, lab, scale);
}
