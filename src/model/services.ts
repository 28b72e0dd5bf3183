/**
 * Services, readiness and what kube-proxy is given, as plain JSON shared by
 * every layer:
 *  - `ServiceSpec` / `ProbeSpec`: what the lab file asks for (config/).
 *  - `ServicePlan`: allocated ClusterIPs and NodePorts (model/), stable
 *    across `up`/`apply` like pod IPs.
 *  - `ProxyNodeInput`: one node's view of every service port and its ready
 *    endpoints; the only input of the iptables and nftables renderers.
 */
import type { Protocol } from '../spec/lab.js';
import type { ProbeSpec, ServicePortSpec, ServiceSpec, ServiceType, TrafficPolicy } from '../spec/services.js';

export interface ServicePortPlan extends ServicePortSpec {
  nodePort?: number;
}

export interface ServicePlan {
  namespace: string;
  name: string;
  /** `<namespace>/<name>`. */
  key: string;
  type: ServiceType;
  /** Allocated or asked-for address; `None` for headless; absent for ExternalName. */
  clusterIP?: string;
  selector?: Record<string, string>;
  ports: ServicePortPlan[];
  sessionAffinity: 'None' | 'ClientIP';
  affinityTimeoutSeconds: number;
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** Allocated for NodePort/LoadBalancer services with externalTrafficPolicy Local. */
  healthCheckNodePort?: number;
  externalName?: string;
  publishNotReadyAddresses?: boolean;
  /** LoadBalancer services: `status.loadBalancer.ingress[0].ip`, given by the lab's cloud controller. */
  loadBalancerIP?: string;
  loadBalancerSourceRanges?: string[];
  /**
   * Endpoints the lab itself fills for a selector-less service: only
   * `default/kubernetes`, whose endpoint is the API server stand-in on the
   * first node (`<node IP>:6443`, host network, as kubeadm runs it).
   */
  staticEndpoints?: { ip: string; port: number; nodeName: string }[];
}

/** One ready endpoint of a service port, as kube-proxy sees it on one node. */
export interface ProxyEndpoint {
  ip: string;
  port: number;
  /** Node the endpoint pod runs on. */
  nodeName: string;
  /** True on the node running the endpoint pod. */
  isLocal: boolean;
}

/** One port of one service with a ClusterIP: the unit kube-proxy programs. */
export interface ProxyServicePort {
  namespace: string;
  service: string;
  /** The port's name, '' when unnamed (then the ServicePortName has no `:<name>`). */
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** LoadBalancer ingress IPs (outside-in issue); empty until then. */
  loadBalancerIPs: string[];
  /** ClientIP affinity, with its timeout. */
  affinityTimeoutSeconds?: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  healthCheckNodePort?: number;
  /** Ready endpoints, sorted by IP then port. */
  endpoints: ProxyEndpoint[];
}

/**
 * Whether two service ports would render the same rules. Written out field by
 * field (no generic deep compare) because partial syncs compare every port of
 * the node, thousands, on each endpoint change.
 */
export function sameServicePort(a: ProxyServicePort, b: ProxyServicePort): boolean {
  if (a === b) return true;
  if (
    a.namespace !== b.namespace || a.service !== b.service || a.portName !== b.portName || a.protocol !== b.protocol ||
    a.clusterIP !== b.clusterIP || a.port !== b.port || a.nodePort !== b.nodePort || a.affinityTimeoutSeconds !== b.affinityTimeoutSeconds ||
    a.externalPolicyLocal !== b.externalPolicyLocal || a.internalPolicyLocal !== b.internalPolicyLocal || a.healthCheckNodePort !== b.healthCheckNodePort ||
    a.loadBalancerIPs.length !== b.loadBalancerIPs.length || a.endpoints.length !== b.endpoints.length
  ) return false;
  for (let i = 0; i < a.loadBalancerIPs.length; i++) if (a.loadBalancerIPs[i] !== b.loadBalancerIPs[i]) return false;
  for (let i = 0; i < a.endpoints.length; i++) {
    const x = a.endpoints[i]!;
    const y = b.endpoints[i]!;
    if (x.ip !== y.ip || x.port !== y.port || x.nodeName !== y.nodeName || x.isLocal !== y.isLocal) return false;
  }
  return true;
}
// A field added to either type without being compared above fails to compile here.
type ComparedPortFields = 'namespace' | 'service' | 'portName' | 'protocol' | 'clusterIP' | 'port' | 'nodePort' | 'affinityTimeoutSeconds' |
  'externalPolicyLocal' | 'internalPolicyLocal' | 'healthCheckNodePort' | 'loadBalancerIPs' | 'endpoints';
type Uncompared = Exclude<keyof ProxyServicePort, ComparedPortFields> | Exclude<keyof ProxyEndpoint, 'ip' | 'port' | 'nodeName' | 'isLocal'>;
const allFieldsCompared: [Uncompared] extends [never] ? true : Uncompared = true;
void allFieldsCompared;

/**
 * The places whose port changed, when every port of `now` is where it was in
 * `before` (the common case, an endpoint change): what a partial sync
 * renders. Undefined when a port was added, removed or moved.
 */
export function portsChangedInPlace(before: readonly ProxyServicePort[], now: readonly ProxyServicePort[]): number[] | undefined {
  if (before.length !== now.length) return undefined;
  const changed: number[] = [];
  for (let i = 0; i < now.length; i++) {
    const a = now[i]!;
    const b = before[i]!;
    if (a.namespace !== b.namespace || a.service !== b.service || a.portName !== b.portName || a.protocol !== b.protocol) return undefined;
    if (!sameServicePort(a, b)) changed.push(i);
  }
  return changed;
}

export function sameServicePorts(a: readonly ProxyServicePort[] | undefined, b: readonly ProxyServicePort[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((p, i) => sameServicePort(p, b[i]!));
}

/** Everything the renderers need for one node. */
export interface ProxyNodeInput {
  node: string;
  nodeIP: string;
  /** The pod network CIDR: traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR: string;
  /** Mark bit for masquerade (kube-proxy default 14, mark 0x4000). */
  masqueradeBit: number;
  /** Sorted by namespace, service, port name, protocol. */
  services: ProxyServicePort[];
}

/** kube-proxy's ServicePortName: `<ns>/<name>:<port>`, or `<ns>/<name>` for an unnamed port. */
export function servicePortName(sp: Pick<ProxyServicePort, 'namespace' | 'service' | 'portName'>): string {
  return sp.portName ? `${sp.namespace}/${sp.service}:${sp.portName}` : `${sp.namespace}/${sp.service}`;
}
