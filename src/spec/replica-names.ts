/**
 * Names of a Deployment's pods: `<deployment>-<suffix>` as in Kubernetes,
 * but the suffix is derived from the replica's index instead of drawn at
 * random, so the same file gives the same names and scaling up keeps the
 * existing ones. Shared by the config layer and the lab's own add-ons.
 */
import { createHash } from 'node:crypto';

/** The alphabet of Kubernetes' generated names: no vowels, no look-alike digits. */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export const SUFFIX_LENGTH = 5;

/** The suffix of replica `index`; `attempt` moves past a suffix an earlier replica already took. */
export function replicaSuffix(namespace: string, deployment: string, index: number, attempt = 0): string {
  const seed = attempt === 0 ? `${namespace}/${deployment}/${index}` : `${namespace}/${deployment}/${index}/${attempt}`;
  let n = BigInt(`0x${createHash('sha256').update(seed).digest('hex')}`);
  const base = BigInt(SUFFIX_ALPHABET.length);
  let out = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) {
    out += SUFFIX_ALPHABET[Number(n % base)];
    n /= base;
  }
  return out;
}

/** Pod names of the first `replicas` replicas; earlier replicas keep their names whatever the count. */
export function replicaNames(namespace: string, deployment: string, replicas: number): string[] {
  const taken = new Set<string>();
  const names: string[] = [];
  for (let i = 0; i < replicas; i++) {
    let attempt = 0;
    let suffix = replicaSuffix(namespace, deployment, i);
    while (taken.has(suffix)) suffix = replicaSuffix(namespace, deployment, i, ++attempt);
    taken.add(suffix);
    names.push(`${deployment}-${suffix}`);
  }
  return names;
}
