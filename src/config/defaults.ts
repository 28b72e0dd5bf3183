/**
 * Defaults and limits of the lab file. Defaults follow upstream where
 * upstream has one: kubeadm's service CIDR and cluster domain, flannel's pod
 * CIDR and tunnel ports.
 */
import type { BackendName, Protocol, ProxyMode } from '../spec/lab.js';

export const LAB_API_VERSION = 'kube-netlab.dev/v1alpha1';

export const BACKEND_NAMES: readonly BackendName[] = ['host-gw', 'cloud-routes', 'vxlan', 'udp'];
export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'nftables'];
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP'];

/** flannel's own default backend, and the design brief's. */
export const DEFAULT_BACKEND: BackendName = 'vxlan';

/** What a Lab document gets for every field it leaves out. */
export const DEFAULTS = {
  /** Three nodes, enough to show same-node and cross-node paths. */
  nodes: ['node1', 'node2', 'node3'],
  /** Router at .1, nodes from .11 (see LIMITS.firstNodeOffset). */
  nodeNetwork: '192.168.56.0/24',
  /** MTU of the node network; overlay backends subtract their header. */
  mtu: 1500,
  podNetwork: {
    /** flannel's default; each node takes one /24 of it. */
    cidr: '10.244.0.0/16',
    backend: DEFAULT_BACKEND,
    /** flannel's vxlan defaults (the Linux kernel's own port, VNI 1). */
    vxlan: { port: 8472, vni: 1 },
    /** flannel's udp backend port. */
    udp: { port: 8285 },
  },
  serviceNetwork: {
    /** kubeadm's default: kubernetes.default is .1, kube-dns .10. */
    cidr: '10.96.0.0/12',
    proxyMode: 'iptables' as ProxyMode,
  },
  clusterDomain: 'cluster.local',
  /** kube-controller-manager's --node-monitor-grace-period: a node unheard of this long is NotReady and its pods leave their services. */
  nodeMonitorGracePeriodSeconds: 40,
  external: {
    /** TEST-NET-3 (RFC 5737): never routed on the real internet. */
    cidr: '203.0.113.0/24',
    /** Ports of an external server that lists none. */
    serverPorts: [80],
  },
  /** Namespace of objects whose metadata names none; it always exists. */
  namespace: 'default',
  /** spec.replicas of a Deployment that leaves it out, as in Kubernetes. */
  replicas: 1,
  /** containerPort protocol when none is given, as in Kubernetes. */
  protocol: 'TCP' as Protocol,
} as const;

/** Bounds the input is checked against. */
export const LIMITS = {
  /** The lab name prefixes every network namespace name, which must stay short. */
  labName: 24,
  nodes: { min: 1, max: 50 },
  mtu: { min: 1280, max: 9000 },
  /** The lab's scale bar: hundreds of pods on a 2-core machine. */
  pods: 1000,
  replicas: 1000,
  /** Each node takes one /24 of the pod network. */
  podSubnetPrefix: 24,
  /** The service network must hold .10 (kube-dns), so /28 is the smallest. */
  serviceNetworkPrefix: 28,
  /** Addresses .1-.10 of the external CIDR are the lab's own (routers, uplink, external client at .10). */
  externalReserved: 10,
  /** The smallest external network that leaves room after the reserved addresses. */
  externalNetworkPrefix: 28,
  /** Node-network offsets: router .1, nodes from .11. */
  routerOffset: 1,
  firstNodeOffset: 11,
  vni: { min: 1, max: 16_777_215 },
  nodeMonitorGracePeriodSeconds: { min: 1, max: 600 },
} as const;
