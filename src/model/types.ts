/**
 * The two data shapes every layer shares:
 *  - `LabSpec`: what the user asked for, validated and defaulted by `config/`.
 *  - `Plan`: every name, address and placement derived from it by `model/`.
 * Both are plain JSON so the plan can be stored under the run directory and read
 * back by `down`, `get`, `exec`, `verify` and the agent without the lab file.
 */
import type { ProbeSpec, ServicePlan, ServiceSpec } from './services.js';
import type { ContainerProgram } from './cluster-dns.js';
import type { IngressClassSpec, IngressSpec, TlsSecretSpec } from './ingress.js';
import type { NetworkPolicySpec } from '../components/network-policy/types.js';
import type { ReachabilityTestSpec } from '../reachability/types.js';

export type BackendName = 'host-gw' | 'cloud-routes' | 'vxlan' | 'udp';
export type ProxyMode = 'iptables' | 'nftables';
export type Protocol = 'TCP' | 'UDP';

/** Where an object came from, for messages that point at the line to fix. */
export interface SourceRef {
  file: string;
  /** 1-based line of the object (or field) in `file`. */
  line: number;
  /** 1-based column, when known. */
  col?: number;
}

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
  nodeMonitorGracePeriodSeconds?: number;
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

// ---------------------------------------------------------------------------
// Plan

export interface RouterPlan {
  /** netns of the node-network router/switch. */
  netns: string;
  /** Bridge that joins every node's eth0 (the L2 node network). */
  bridge: string;
  /** Router address on the node network, CIDR form (e.g. 192.168.56.1/24). */
  address: string;
  ip: string;
  /** Uplink to the internet router: device name and address (CIDR form). */
  uplink: { device: string; peer: string; address: string; ip: string };
}

export interface InternetPlan {
  /** netns of the internet router; it knows node IPs, never pod or service CIDRs. */
  netns: string;
  bridge: string;
  address: string;
  ip: string;
  /**
   * The internet's DNS resolver (a public resolver's stand-in), a second
   * address on the internet router: it answers the external servers' names
   * and NXDOMAIN for the rest. Nodes use it, so the cluster DNS forwards to it.
   */
  resolver: { ip: string };
  clients: ExternalHostPlan[];
  /**
   * The cloud's load balancer, in its own namespace on the internet bridge:
   * it holds every load-balancer IP and is the edge between the internet and
   * the node network (routes both ways go through it), so replies to
   * connections it forwarded come back through it without source NAT.
   */
  loadBalancer: { netns: string; ip: string; peer: string };
  /** `spec.external.servers`, each in its own namespace on the internet bridge. */
  servers: ExternalServerPlan[];
}

export interface ExternalServerPlan {
  name: string;
  netns: string;
  ip: string;
  ports: number[];
  /** Port on the internet bridge. */
  peer: string;
}

export interface ExternalHostPlan {
  name: string;
  netns: string;
  ip: string;
  /** Port on the internet bridge, in the internet router netns. */
  peer: string;
}

export interface NodePlan {
  name: string;
  netns: string;
  /** Node IP on the node network. */
  ip: string;
  /** Node address in CIDR form on eth0. */
  address: string;
  /** This node's pod /24 (spec.podCIDR). */
  podCIDR: string;
  /** Gateway of the pod /24, held by cbr0 (e.g. 10.244.1.1). */
  gateway: string;
  bridge: string;
  /** MTU of eth0 (node network). */
  mtu: number;
  /** MTU of cbr0 and pod eth0 (node MTU minus the backend's overhead). */
  podMtu: number;
  /** Port of this node's eth0 on the router bridge. */
  uplinkPeer: string;
  /** Stable MAC of the backend's tunnel device (vxlan VTEP), derived from the node name. */
  vtepMac: string;
  labels: Record<string, string>;
}

export interface ContainerPlan {
  name: string;
  ports: ContainerPortSpec[];
  readinessProbe?: ProbeSpec;
  program?: ContainerProgram;
}

export interface PodPlan {
  namespace: string;
  name: string;
  /** Being removed by `apply`/`scale`: out of every Service's endpoints while its containers still run. */
  terminating?: boolean;
  /** `<namespace>/<name>` */
  key: string;
  netns: string;
  node: string;
  ip: string;
  /** Pod IP in CIDR form on eth0. */
  address: string;
  gateway: string;
  /** Node-side veth peer on cbr0 (<= 15 chars). */
  hostVeth: string;
  mtu: number;
  labels: Record<string, string>;
  containers: ContainerPlan[];
  owner?: PodOwner;
  hostname?: string;
  subdomain?: string;
  dnsPolicy: DnsPolicy;
  dnsConfig?: PodDnsConfig;
  /** In the node's namespace: `netns` and `ip` are the node's, there is no veth (`hostVeth` is empty). */
  hostNetwork?: boolean;
}

export interface Plan {
  /** Version of this shape; bumped when stored plans must be rebuilt. */
  version: 1;
  lab: string;
  spec: LabSpec;
  router: RouterPlan;
  internet: InternetPlan;
  nodes: NodePlan[];
  pods: PodPlan[];
  /** Every service with its ClusterIP and node ports, `default/kubernetes` included; sorted by namespace and name. */
  services: ServicePlan[];
}
