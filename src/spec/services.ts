/**
 * Services and probes as the lab file asks for them (`config/` reads them,
 * `model/` allocates their addresses), with the Kubernetes defaults and
 * ranges they are checked against.
 */
import type { Protocol, SourceRef } from './lab.js';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type TrafficPolicy = 'Cluster' | 'Local';

/** kube-apiserver's default `--service-node-port-range`; health-check node ports come from it too. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;
/** `sessionAffinityConfig.clientIP.timeoutSeconds`: default and API maximum. */
export const AFFINITY_TIMEOUT_SECONDS = { default: 10800, max: 86400 } as const;
/** Offsets in the service CIDR that kubeadm gives fixed services. */
export const KUBERNETES_SERVICE = { namespace: 'default', name: 'kubernetes', offset: 1, port: 443, portName: 'https', targetPort: 6443 } as const;
export const KUBE_DNS_SERVICE = { namespace: 'kube-system', name: 'kube-dns', offset: 10 } as const;
/** kubelet's probe defaults (`initialDelaySeconds` is 0). */
export const PROBE_DEFAULTS = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3, httpPath: '/' } as const;

export interface ServicePortSpec {
  /** Required by Kubernetes when a service has several ports. */
  name?: string;
  protocol: Protocol;
  port: number;
  /** A number, or the name of a container port of the selected pods; defaults to `port`. */
  targetPort: number | string;
  /** Asked for in the manifest; allocated from 30000-32767 otherwise (NodePort/LoadBalancer). */
  nodePort?: number;
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  type: ServiceType;
  /** `None` for headless; an address when the manifest asks for one; absent to allocate. */
  clusterIP?: string;
  /** Absent: no selector, no endpoints managed by the lab. */
  selector?: Record<string, string>;
  ports: ServicePortSpec[];
  sessionAffinity: 'None' | 'ClientIP';
  /** `sessionAffinityConfig.clientIP.timeoutSeconds`, default 10800. */
  affinityTimeoutSeconds: number;
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** Asked for in the manifest (Local + NodePort/LoadBalancer); allocated otherwise. */
  healthCheckNodePort?: number;
  /** ExternalName services (DNS issue). */
  externalName?: string;
  /** Not-ready pods are endpoints too (StatefulSet peers finding each other before they are ready). */
  publishNotReadyAddresses?: boolean;
  /** LoadBalancer only: false leaves ports without an asked-for nodePort without one. */
  allocateLoadBalancerNodePorts?: boolean;
  /** LoadBalancer only: the address asked of the cloud, which honours it when free in its pool's network. */
  loadBalancerIP?: string;
  /** LoadBalancer only: client networks the load balancer admits; absent or empty: everyone. */
  loadBalancerSourceRanges?: string[];
  source: SourceRef;
}

/** A container's readinessProbe; pods without one are ready once running. */
export interface ProbeSpec {
  handler: { kind: 'httpGet'; path: string; port: number | string } | { kind: 'tcpSocket'; port: number | string };
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}
