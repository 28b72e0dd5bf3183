/**
 * A lab file's own cluster DNS objects: the planner adds the add-on
 * (model/cluster-dns.ts) to every lab, so a `kube-system/kube-dns` Service
 * or `coredns` Deployment in the file (a real cluster's manifests folder
 * has them) is reported and left out rather than clashing with it.
 */
import { CLUSTER_DNS } from '../spec/cluster-dns.js';

/** Objects of the file that the add-on replaces: they are reported and not used. */
export function isClusterDnsObject(kind: string, namespace: string, name: string): boolean {
  if (namespace !== CLUSTER_DNS.namespace) return false;
  return (kind === 'Service' && name === CLUSTER_DNS.service) || (kind === 'Deployment' && name === CLUSTER_DNS.deployment);
}

export const CLUSTER_DNS_NOTICE = `the lab runs the cluster DNS itself (Deployment ${CLUSTER_DNS.namespace}/${CLUSTER_DNS.deployment} behind Service ${CLUSTER_DNS.namespace}/${CLUSTER_DNS.service} at the tenth service IP); this declaration is not used`;
