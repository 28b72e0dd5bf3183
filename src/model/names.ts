/**
 * Names of kernel objects, derived from the model so that every object can be
 * found again from the lab name alone (`down` after a crash needs no state).
 *
 * Namespaces are `<lab>.<role>[.<more>]`: lab names are DNS-1123 labels and
 * cannot contain '.', so `<lab>.` is a prefix no other lab can share.
 * Interface names must fit IFNAMSIZ (15 chars); where a readable name does not
 * fit, a short hash keeps it unique and stable.
 */
import { createHash } from 'node:crypto';

export const IFNAMSIZ = 15;

export function shortHash(text: string, hexChars = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

export const netnsName = {
  router: (lab: string) => `${lab}.router`,
  internet: (lab: string) => `${lab}.internet`,
  external: (lab: string, client: string) => `${lab}.ext.${client}`,
  loadBalancer: (lab: string) => `${lab}.lb`,
  /** External servers are numbered: their names are DNS names, which can outgrow a file name. */
  server: (lab: string, index: number) => `${lab}.srv.${index}`,
  node: (lab: string, node: string) => `${lab}.node.${node}`,
  pod: (lab: string, namespace: string, pod: string) => `${lab}.pod.${namespace}.${pod}`,
};

/** Prefix shared by every namespace of a lab. */
export function labPrefix(lab: string): string {
  return `${lab}.`;
}

/** Node-side veth of a pod, like the CNI bridge plugin's `veth<8 hex>`. */
export function podHostVeth(lab: string, namespace: string, pod: string, salt = 0): string {
  return `veth${shortHash(`${lab}/${namespace}/${pod}${salt ? `#${salt}` : ''}`)}`;
}

/** A port on a bridge that leads to `target`: readable when it fits, hashed otherwise. */
export function portTo(target: string): string {
  const readable = `to-${target}`;
  return readable.length <= IFNAMSIZ ? readable : `to-${shortHash(target, 9)}`;
}

/** A locally administered unicast MAC that is stable for a given seed. */
export function stableMac(seed: string): string {
  const bytes = createHash('sha256').update(seed).digest().subarray(0, 6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
