/** The cluster DNS add-on's fixed names and ports, as kubeadm installs CoreDNS. */
import { KUBE_DNS_SERVICE } from './services.js';

export const CLUSTER_DNS = {
  namespace: KUBE_DNS_SERVICE.namespace,
  service: KUBE_DNS_SERVICE.name,
  deployment: 'coredns',
  replicas: 2,
  labels: { 'k8s-app': 'kube-dns' } as Readonly<Record<string, string>>,
  container: 'coredns',
  dnsPort: 53,
  /** CoreDNS `ready` plugin: the readinessProbe's target. */
  readyPort: 8181,
  /** CoreDNS `health` plugin. */
  healthPort: 8080,
  metricsPort: 9153,
  /** kubeadm's Corefile sets `ttl 30`. */
  ttl: 30,
  schemaVersion: '1.1.0',
} as const;

/** What a container runs when it is not the lab's test server. */
export type ContainerProgram = 'cluster-dns' | 'ingress-nginx';
