/** What the lab's add-ons (cluster DNS, ingress controller) share: a Deployment's pods built in code. */
import { replicaNames } from '../spec/replica-names.js';
import type { ContainerSpec, DnsPolicy, PodSpec, SourceRef } from '../spec/lab.js';

export interface AddonDeployment {
  namespace: string;
  deployment: string;
  replicas: number;
  labels: Readonly<Record<string, string>>;
  dnsPolicy: DnsPolicy;
  container: ContainerSpec;
  source: SourceRef;
}

/** The Deployment's pods, named as the Deployment controller names them. */
export function addonPods(d: AddonDeployment): PodSpec[] {
  return replicaNames(d.namespace, d.deployment, d.replicas).map((name) => ({
    namespace: d.namespace,
    name,
    labels: { ...d.labels },
    owner: { kind: 'Deployment', name: d.deployment },
    dnsPolicy: d.dnsPolicy,
    containers: [structuredClone(d.container)],
    source: d.source,
  }));
}
