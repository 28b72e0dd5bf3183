/** Checks across documents, once every pod (Deployments expanded) is known. */
import type { PodSpec } from '../spec/lab.js';
import { LIMITS } from './defaults.js';
import type { Reader } from './fields.js';

function origin(pod: PodSpec): string {
  const by = pod.owner ? `Deployment ${pod.owner.name}` : 'a Pod document';
  return `${by} at ${pod.source.file}:${pod.source.line}`;
}

export function checkPods(pods: PodSpec[], r: Reader): void {
  const seen = new Map<string, PodSpec>();
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.name}`;
    const before = seen.get(key);
    if (!before) {
      seen.set(key, pod);
      continue;
    }
    r.add('duplicate', pod.source, `pod ${key} from ${origin(pod)} already exists (from ${origin(before)}); pod names must be unique in a namespace`);
  }
  if (pods.length > LIMITS.pods) {
    const first = pods[LIMITS.pods]!;
    r.add(
      'capacity',
      first.source,
      `the lab would have ${pods.length} pods; at most ${LIMITS.pods} are supported (the first beyond is ${first.namespace}/${first.name}); lower some replicas`,
    );
  }
}
