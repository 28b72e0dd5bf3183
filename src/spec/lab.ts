/**
 * What the user asked for, validated and defaulted by `config/`: the lab
 * settings, nodes, pods and the objects they carry. Plain JSON; `model/`
 * turns it into a plan.
 */
import type { ProbeSpec, ServiceSpec } from './services.js';
import type { ContainerProgram } from './cluster-dns.js';
import type { IngressClassSpec, IngressSpec, TlsSecretSpec } from './ingress.js';
import type { NetworkPolicySpec } from './network-policy.js';
import type { ReachabilityTestSpec } from './reachability.js';

export type BackendName = 'host-gw' | 'cloud-routes' | 'vxlan' | 'udp';
export type ProxyMode = 'iptables' | 'nftables';
export type Protocol = 'TCP' | 'UDP';

import type { SourceRef } from '../util/source-ref.js';

export type { SourceRef };

export interface NodeSpec {
  name: string;
  labels: Record<string, string>;
  source: SourceRef;
}

export interface ContainerPortSpec {
  name?: string;
  containerPort: number;
  protocol: Protocol;
  /** DNATed from this port of every address of the pod's node (CNI portmap). */
  hostPort?: number;
}

export interface ContainerSpec {
  name: string;
  ports: ContainerPortSpec[];
  /** Absent: the container is ready while it runs (also for exec probes, which cannot run here). */
  readinessProbe?: ProbeSpec;
  /** Set for the lab's own add-ons: the container runs this program rather than the test server. */
  program?: ContainerProgram;
}

export interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** `spec.nodeName`, when the manifest pins the pod. */
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  containers: ContainerSpec[];
  /** The Deployment or StatefulSet that produced this pod, if any. */
  owner?: PodOwner;
  /** `spec.hostname`; StatefulSet pods get their own name. With `subdomain`, the pod's DNS name under that headless service. */
  hostname?: string;
  /** `spec.subdomain`; StatefulSet pods get the set's `serviceName`. */
  subdomain?: string;
  /** `spec.dnsPolicy`, default ClusterFirst. */
  dnsPolicy: DnsPolicy;
  /** `spec.dnsConfig`, merged into the resolv.conf the policy gives (the whole of it for `None`). */
  dnsConfig?: PodDnsConfig;
  /** `spec.hostNetwork`: the pod's containers run in its node's namespace, with the node IP as pod IP. */
  hostNetwork?: boolean;
  source: SourceRef;
}

export type PodOwner = { kind: 'Deployment' | 'StatefulSet'; name: string };
export type DnsPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface PodDnsConfig {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

export interface ExternalServerSpec {
  name: string;
  address: string;
  ports: number[];
}

/** A message about the input that is not an error: ignored kinds, fields with no effect. */
export interface Notice {
  source?: SourceRef;
  message: string;
}

export interface LabSpec {
  name: string;
  source: SourceRef;
  nodes: NodeSpec[];
  /** Node network CIDR, e.g. 192.168.56.0/24: router .1, nodes from .11. */
  nodeNetwork: string;
  /** MTU of the node network links (node `eth0`); overlays subtract their overhead. */
  mtu: number;
  podNetwork: {
    cidr: string;
    backend: BackendName;
    vxlan: { port: number; vni: number };
    udp: { port: number };
  };
  serviceNetwork: { cidr: string; proxyMode: ProxyMode };
  clusterDomain: string;
  /**
   * How long after a node stops being heard from (its link cut by `fault
   * node-down`) the node lifecycle controller marks it NotReady and its
   * pods not ready, so they leave every service. Upstream: 40 s.
   */
  nodeMonitorGracePeriodSeconds: number;
  external: { cidr: string; servers: ExternalServerSpec[] };
  /** Namespaces in the order declared; `default` is always present. */
  namespaces: string[];
  /** `metadata.labels` of the Namespace documents that have any (the automatic `kubernetes.io/metadata.name` is not stored). */
  namespaceLabels: Record<string, Record<string, string>>;
  /** Every pod, Deployments already expanded to `<deployment>-<suffix>` pods. */
  pods: PodSpec[];
  /** Services of the lab file, in input order; `default/kubernetes` is the planner's own. */
  services: ServiceSpec[];
  /** `<namespace>/<name>` of every Deployment, so `scale` can tell one with 0 replicas from none. */
  deployments: string[];
  /** `<namespace>/<name>` of every StatefulSet, for `scale sts/NAME`. */
  statefulSets: string[];
  /** Ingress objects, in input order, every class (the planner keeps the lab controller's). */
  ingresses: IngressSpec[];
  ingressClasses: IngressClassSpec[];
  /** `kubernetes.io/tls` Secrets, for Ingress TLS. */
  tlsSecrets: TlsSecretSpec[];
  /** NetworkPolicies, in input order. */
  networkPolicies: NetworkPolicySpec[];
  /** The user's expectations, measured by `verify`. */
  reachabilityTests: ReachabilityTestSpec[];
  notices: Notice[];
  /** Files the spec was read from, for messages and for `up` without `-f`. */
  files: string[];
}
