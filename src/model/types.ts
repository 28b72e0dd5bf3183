/**
 * The plan: every name, address and placement `model/` derives from the
 * lab's spec (`spec/`). Plain JSON, so it is stored under the run directory
 * and read back by `down`, `get`, `exec`, `verify` and the agent without the
 * lab file.
 */
import type { ServicePlan } from './services.js';
import type { ContainerPortSpec, DnsPolicy, LabSpec, PodDnsConfig, PodOwner } from '../spec/lab.js';
import type { ProbeSpec } from '../spec/services.js';
import type { IngressSpec } from '../spec/ingress.js';
import type { ContainerProgram } from '../spec/cluster-dns.js';

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
  /** Stable MAC of cbr0, set when it is made: pinned gateway entries in the pods name it. */
  bridgeMac: string;
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
  /** The Ingresses the lab's ingress-nginx serves (by their class), in input order; decided here, so no consumer re-derives it. */
  ingresses: IngressSpec[];
  /** Each pod's gateway and each pod on its node's bridge are permanent neighbour entries (a lab too big for ARP alone; see neighbours.ts). */
  staticNeighbours: boolean;
}
