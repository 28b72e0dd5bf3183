/**
 * StatefulSets expand to pods `<name>-0` ... `<name>-(n-1)`, each with its
 * own name as `hostname` and the set's `serviceName` as `subdomain`: the
 * stable per-pod DNS names (`web-0.web.default.svc.cluster.local`) a
 * headless governing service publishes. Scaling adds and removes the
 * highest ordinals, so the other pods keep their names and addresses.
 */
import type { PodSpec } from '../spec/lab.js';
import type { Cursor } from './documents.js';
import { readReplicated, type ReplicatedWorkload } from './deployments.js';
import { labelProblem } from './names.js';
import type { ObjectMeta, WorkloadContext } from './workloads.js';

/** The key of a StatefulSet's count in `scale`'s record; apart from the Deployments' `<namespace>/<name>`. */
export const statefulSetKey = (m: Pick<ObjectMeta, 'namespace' | 'name'>): string => `statefulset/${m.namespace}/${m.name}`;

export function statefulSetPodNames(name: string, replicas: number): string[] {
  return Array.from({ length: replicas }, (_, i) => `${name}-${i}`);
}

export function readStatefulSet(doc: Cursor, ctx: WorkloadContext): PodSpec[] {
  const { r } = ctx;
  const w: ReplicatedWorkload | undefined = readReplicated(doc, 'StatefulSet', ctx, statefulSetKey);
  if (!w) return [];
  const { meta, what, replicas, labels, fields } = w;
  const spec = doc.get('spec');
  const serviceC = spec.get('serviceName');
  const serviceName = r.string(serviceC, `${what}: spec.serviceName`);
  const serviceProblem = serviceName === undefined ? undefined : labelProblem(serviceName, `${what}: spec.serviceName`);
  if (serviceProblem) r.add('bad-name', serviceC.ref, serviceProblem);

  // Pod names are host names, so each must be a DNS label: the highest ordinal decides.
  const longest = `${meta.name}-${Math.max(replicas, 1) - 1}`;
  const nameProblem = labelProblem(longest, `${what}: pod name`);
  if (nameProblem) {
    r.add('bad-name', doc.get('metadata').get('name').ref, `${nameProblem}; a StatefulSet's pods are named <name>-<ordinal> and that name is their host name, so shorten the StatefulSet name`);
    return [];
  }
  return statefulSetPodNames(meta.name, replicas).map((name) => ({
    namespace: meta.namespace,
    name,
    labels: { ...labels, 'statefulset.kubernetes.io/pod-name': name },
    ...structuredClone(fields),
    // The controller sets both, whatever the template says.
    hostname: name,
    ...(serviceName !== undefined && !serviceProblem ? { subdomain: serviceName } : {}),
    owner: { kind: 'StatefulSet', name: meta.name },
    source: meta.source,
  }));
}
