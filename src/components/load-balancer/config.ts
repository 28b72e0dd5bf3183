/**
 * What the cloud's load balancer is told about each LoadBalancer service:
 * its address, the client networks it admits, the node port each service
 * port goes to on every node, and how to tell a node that can serve it.
 * Pure: derived from the plan, which the load balancer reads on change.
 */
import type { Plan } from '../../model/types.js';
import type { Protocol } from '../../spec/lab.js';

export type HealthCheck =
  /** kube-proxy's health check node port: 200 while the node has a local endpoint (externalTrafficPolicy Local). */
  | { kind: 'http'; port: number; path: string }
  /** A TCP connection to the service's first TCP node port (Cluster policy: any node can forward). */
  | { kind: 'tcp'; port: number }
  /** Nothing to probe (UDP only, Cluster policy): every node is taken as healthy. */
  | { kind: 'none' };

export interface LoadBalancerPort {
  protocol: Protocol;
  port: number;
  nodePort: number;
}

export interface LoadBalancerConfig {
  /** `<namespace>/<name>` of the service. */
  service: string;
  ip: string;
  /** Admitted client networks; empty: everyone. */
  sourceRanges: string[];
  ports: LoadBalancerPort[];
  healthCheck: HealthCheck;
}

export interface LoadBalancerSet {
  nodes: { name: string; ip: string }[];
  balancers: LoadBalancerConfig[];
}

/** kube-proxy's health check answers on any path; clouds ask for /healthz. */
export const HEALTH_PATH = '/healthz';

export function loadBalancersOf(plan: Plan): LoadBalancerSet {
  const balancers: LoadBalancerConfig[] = [];
  for (const svc of plan.services) {
    if (svc.type !== 'LoadBalancer' || !svc.loadBalancerIP) continue;
    // Ports without a node port (allocateLoadBalancerNodePorts: false) have nowhere to go on a node.
    const ports = svc.ports.filter((p) => p.nodePort !== undefined).map((p) => ({ protocol: p.protocol, port: p.port, nodePort: p.nodePort! }));
    const tcp = ports.find((p) => p.protocol === 'TCP');
    const healthCheck: HealthCheck =
      svc.externalTrafficPolicy === 'Local' && svc.healthCheckNodePort !== undefined
        ? { kind: 'http', port: svc.healthCheckNodePort, path: HEALTH_PATH }
        : tcp
          ? { kind: 'tcp', port: tcp.nodePort }
          : { kind: 'none' };
    balancers.push({ service: svc.key, ip: svc.loadBalancerIP, sourceRanges: svc.loadBalancerSourceRanges ?? [], ports, healthCheck });
  }
  return { nodes: plan.nodes.map((n) => ({ name: n.name, ip: n.ip })), balancers };
}

/** One probe target: the same node and check serve every service that shares it. */
export function healthTargetKey(node: string, check: HealthCheck): string {
  return check.kind === 'none' ? `${node}/none` : `${node}/${check.kind}/${check.port}`;
}

/** What the load balancer daemon writes to its state file. */
export interface LoadBalancerState {
  pid: number;
  /** Start of the last completed round of health checks, whose results the forwarding already uses (ISO 8601). */
  checkedSince: string;
  balancers: { service: string; ip: string; targets: string[]; nodes: { name: string; healthy: boolean; lastError?: string }[] }[];
}
