/**
 * Endpoints as the endpoints controller and kube-proxy see them: the pods a
 * service selects, each service port's targetPort resolved per pod, then one
 * view per node for the proxy renderers. Pure: readiness comes in as a
 * function, so the agent, `get endpoints` and `verify` all share this code.
 */
import { ipValue } from '../util/addresses.js';
import type { ProxyEndpoint, ProxyNodeInput, ProxyServicePort, ServicePlan, ServicePortPlan } from './services.js';
import type { Plan, PodPlan } from './types.js';
import type { Protocol } from '../spec/lab.js';

/** kube-proxy's default `--iptables-masquerade-bit`: mark 0x4000. */
export const MASQUERADE_BIT = 14;

/** Whether the pod `<namespace>/<name>` is ready (running, and passing its readinessProbes). */
export type PodReady = (podKey: string) => boolean;

/** kubectl's Endpoints shape. */
export interface EndpointAddress {
  ip: string;
  /** The pod's `hostname`, when its `subdomain` names this service (StatefulSet pods): its DNS name under the service. */
  hostname?: string;
  nodeName: string;
  /** Absent for endpoints the lab sets itself (the API server stand-in). */
  targetRef?: { kind: 'Pod'; namespace: string; name: string };
}

export interface EndpointPort {
  /** The service port's name; absent for an unnamed port. */
  name?: string;
  port: number;
  protocol: Protocol;
}

export interface EndpointSubset {
  addresses: EndpointAddress[];
  /** Selected pods that are not ready; omitted when there are none, as the API server does. */
  notReadyAddresses?: EndpointAddress[];
  ports: EndpointPort[];
}

export interface Endpoints {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: { name: string; namespace: string };
  subsets: EndpointSubset[];
}


function byAddress(a: { ip: string; port?: number }, b: { ip: string; port?: number }): number {
  const d = ipValue(a.ip) - ipValue(b.ip);
  return d < 0n ? -1 : d > 0n ? 1 : (a.port ?? 0) - (b.port ?? 0);
}

/** Pods by namespace and by each `key=value` label, so a selector looks at its few candidates rather than every pod. */
class PodIndex {
  private readonly byLabel = new Map<string, PodPlan[]>();

  constructor(pods: PodPlan[]) {
    for (const pod of pods) {
      for (const [k, v] of Object.entries(pod.labels)) {
        const key = JSON.stringify([pod.namespace, k, v]);
        const list = this.byLabel.get(key);
        if (list) list.push(pod);
        else this.byLabel.set(key, [pod]);
      }
    }
  }

  /** Pods of a service, as the endpoints controller picks them: same namespace, every selector label equal; none without a selector. */
  selected(svc: ServicePlan): PodPlan[] {
    const entries = Object.entries(svc.selector ?? {});
    if (entries.length === 0) return [];
    const lists = entries.map(([k, v]) => this.byLabel.get(JSON.stringify([svc.namespace, k, v])) ?? []);
    const shortest = lists.reduce((a, b) => (b.length < a.length ? b : a));
    return shortest.filter((pod) => entries.every(([k, v]) => Object.hasOwn(pod.labels, k) && pod.labels[k] === v));
  }
}

/**
 * The container port a service port reaches on `pod`: a number as is, a
 * name through the pod's container ports of the same protocol. A pod
 * without that name is no endpoint of the port, as in Kubernetes.
 */
export function resolveTargetPort(pod: PodPlan, port: Pick<ServicePortPlan, 'targetPort' | 'protocol'>): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  for (const c of pod.containers) {
    for (const p of c.ports) if (p.name === port.targetPort && p.protocol === port.protocol) return p.containerPort;
  }
  return undefined;
}

/** Services kube-proxy programs: those with a ClusterIP (not headless, not ExternalName). */
function proxied(svc: ServicePlan): svc is ServicePlan & { clusterIP: string } {
  return svc.type !== 'ExternalName' && svc.clusterIP !== undefined && svc.clusterIP !== 'None';
}

/** Every programmed service port with its ready endpoints, the same for every node but `isLocal`. */
function servicePorts(plan: Plan, ready: PodReady): ProxyServicePort[] {
  const index = new PodIndex(plan.pods);
  const readiness = new Map<string, boolean>();
  const isReady = (key: string) => {
    let r = readiness.get(key);
    if (r === undefined) readiness.set(key, (r = ready(key)));
    return r;
  };
  const out: ProxyServicePort[] = [];
  for (const svc of plan.services) {
    if (!proxied(svc)) continue;
    const pods = index.selected(svc).filter((p) => svc.publishNotReadyAddresses || isReady(p.key));
    for (const port of svc.ports) {
      const endpoints: ProxyEndpoint[] = [];
      for (const pod of pods) {
        const target = resolveTargetPort(pod, port);
        if (target !== undefined) endpoints.push({ ip: pod.ip, port: target, nodeName: pod.node, isLocal: false });
      }
      // A selector-less service's endpoints are set by the lab itself: every port goes to them.
      for (const ep of svc.staticEndpoints ?? []) endpoints.push({ ip: ep.ip, port: ep.port, nodeName: ep.nodeName, isLocal: false });
      endpoints.sort(byAddress);
      out.push({
        namespace: svc.namespace,
        service: svc.name,
        portName: port.name ?? '',
        protocol: port.protocol,
        clusterIP: svc.clusterIP,
        port: port.port,
        ...(port.nodePort !== undefined ? { nodePort: port.nodePort } : {}),
        loadBalancerIPs: svc.loadBalancerIP ? [svc.loadBalancerIP] : [],
        ...(svc.sessionAffinity === 'ClientIP' ? { affinityTimeoutSeconds: svc.affinityTimeoutSeconds } : {}),
        externalPolicyLocal: (svc.type === 'NodePort' || svc.type === 'LoadBalancer') && svc.externalTrafficPolicy === 'Local',
        internalPolicyLocal: svc.internalTrafficPolicy === 'Local',
        ...(svc.healthCheckNodePort !== undefined ? { healthCheckNodePort: svc.healthCheckNodePort } : {}),
        endpoints,
      });
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.service, b.service) || cmp(a.portName, b.portName) || cmp(a.protocol, b.protocol) || a.port - b.port);
}

/** What kube-proxy on each node is given: every service port with its ready endpoints, `isLocal` from that node's point of view. */
export function proxyInputs(plan: Plan, ready: PodReady): ProxyNodeInput[] {
  const ports = servicePorts(plan, ready);
  return plan.nodes.map((node) => ({
    node: node.name,
    nodeIP: node.ip,
    clusterCIDR: plan.spec.podNetwork.cidr,
    masqueradeBit: MASQUERADE_BIT,
    services: ports.map((sp) => ({ ...sp, endpoints: sp.endpoints.map((ep) => ({ ...ep, isLocal: ep.nodeName === node.name })) })),
  }));
}

/**
 * The Endpoints object of every service the lab manages endpoints for
 * (those with a selector, headless ones included, and `default/kubernetes`),
 * as the endpoints controller writes it: addresses with the same resolved
 * ports share a subset; not-ready pods are listed apart.
 */
export function serviceEndpoints(plan: Plan, ready: PodReady): Endpoints[] {
  const index = new PodIndex(plan.pods);
  const out: Endpoints[] = [];
  for (const svc of plan.services) {
    if (svc.type === 'ExternalName' || (!svc.selector && !svc.staticEndpoints)) continue;
    const subsets = new Map<string, EndpointSubset>();
    const add = (address: EndpointAddress, ports: EndpointPort[], isReady: boolean) => {
      const key = JSON.stringify(ports);
      let subset = subsets.get(key);
      if (!subset) subsets.set(key, (subset = { addresses: [], ports }));
      if (isReady) subset.addresses.push(address);
      else (subset.notReadyAddresses ??= []).push(address);
    };
    const portOf = (p: ServicePortPlan, port: number): EndpointPort => ({ ...(p.name ? { name: p.name } : {}), port, protocol: p.protocol });
    for (const pod of index.selected(svc)) {
      const ports = svc.ports.flatMap((p) => {
        const target = resolveTargetPort(pod, p);
        return target === undefined ? [] : [portOf(p, target)];
      });
      // A headless service may have no ports; then its pods are listed bare. Otherwise a pod that resolves no port is no endpoint.
      if (ports.length === 0 && svc.ports.length > 0) continue;
      const hostname = pod.hostname !== undefined && pod.subdomain === svc.name ? { hostname: pod.hostname } : {};
      add({ ip: pod.ip, ...hostname, nodeName: pod.node, targetRef: { kind: 'Pod', namespace: pod.namespace, name: pod.name } }, ports, svc.publishNotReadyAddresses === true || ready(pod.key));
    }
    for (const ep of svc.staticEndpoints ?? []) {
      add({ ip: ep.ip, nodeName: ep.nodeName }, svc.ports.map((p) => portOf(p, ep.port)), true);
    }
    const list = [...subsets.values()].map((s) => ({
      addresses: s.addresses.sort(byAddress),
      ...(s.notReadyAddresses ? { notReadyAddresses: s.notReadyAddresses.sort(byAddress) } : {}),
      ports: s.ports,
    }));
    list.sort((a, b) => {
      const fa = a.addresses[0] ?? a.notReadyAddresses?.[0];
      const fb = b.addresses[0] ?? b.notReadyAddresses?.[0];
      return fa && fb ? byAddress(fa, fb) : 0;
    });
    out.push({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.name, namespace: svc.namespace }, subsets: list });
  }
  return out;
}
