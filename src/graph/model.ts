/**
 * The lab as a graph: the internet side, the load balancer, the router, each
 * node as a cluster holding its eth0, cbr0, tunnel device and pods, the
 * Services with DNAT edges to their endpoints, and the Ingress hosts. Pure:
 * built from the plan, optionally marked with what the live kernel says
 * (`check`'s differences) and with a traced path. Every format (Mermaid,
 * DOT, SVG, HTML, JSON) is drawn from this one model.
 */
import { serviceEndpoints, type PodReady } from '../model/endpoints.js';
import type { NodePlan, Plan } from '../model/types.js';
import { INGRESS_NGINX } from '../spec/ingress.js';

export type GraphNodeKind = 'client' | 'server' | 'internet' | 'lb' | 'router' | 'eth' | 'bridge' | 'tunnel' | 'pod' | 'host-pod' | 'service' | 'ingress-host';

export type GraphEdgeKind = 'link' | 'veth' | 'tunnel' | 'route' | 'dnat' | 'lb' | 'ingress' | 'cname';

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  /** Lines of the label, first one the name. */
  label: string[];
  /** The cluster drawn around it (a node's name, `internet`, `services`, `ingress`). */
  cluster?: string;
  /** Objects `check` found differing from the plan here. */
  differs?: string[];
  /** On the traced path. */
  onPath?: boolean;
  /** Where the traced packet stopped. */
  stop?: string;
}

/** Links are drawn top-down (internet, router, node, bridge, pod); DNAT, LB and Ingress edges point the way packets go. */
export interface GraphEdge {
  from: string;
  to: string;
  kind: GraphEdgeKind;
  label?: string;
  onPath?: boolean;
}

export interface GraphCluster {
  id: string;
  label: string;
}

export interface GraphModel {
  lab: string;
  backend: string;
  proxyMode: string;
  clusters: GraphCluster[];
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** A difference as `check` reports it, by place (node, `pod ns/name`, internet-side role) and object. */
export interface PlaceDifference {
  place: string;
  object: string;
  problem: string;
}

/** A traced path as graph ids, in order, and where it stopped (when it did). */
export interface GraphHighlight {
  path: string[];
  stop?: { id: string; reason: string };
}

export const podId = (key: string) => `pod:${key}`;
export const serviceId = (key: string) => `svc:${key}`;
export const nodePartId = (node: string, part: 'eth0' | 'cbr0' | 'tunnel') => `${node}:${part}`;

/** The tunnel device of a node for the backend, or none (host-gw, cloud-routes route plainly). */
function tunnelOf(plan: Plan): { device: string; edge: string } | undefined {
  const net = plan.spec.podNetwork;
  if (net.backend === 'vxlan') return { device: `flannel.${net.vxlan.vni}`, edge: `VXLAN VNI ${net.vxlan.vni}, udp/${net.vxlan.port}` };
  if (net.backend === 'udp') return { device: 'flannel0', edge: `UDP daemon, udp/${net.udp.port}` };
  return undefined;
}

function nodeParts(plan: Plan, node: NodePlan, nodes: GraphNode[], edges: GraphEdge[]): void {
  const eth = nodePartId(node.name, 'eth0');
  const bridge = nodePartId(node.name, 'cbr0');
  nodes.push({ id: eth, kind: 'eth', label: [`${node.name} eth0`, node.ip, `mtu ${node.mtu}`], cluster: node.name });
  nodes.push({ id: bridge, kind: 'bridge', label: [node.bridge, `${node.gateway} (${node.podCIDR})`, `mtu ${node.podMtu}`], cluster: node.name });
  const tunnel = tunnelOf(plan);
  if (tunnel) {
    const id = nodePartId(node.name, 'tunnel');
    nodes.push({ id, kind: 'tunnel', label: [tunnel.device, plan.spec.podNetwork.backend === 'vxlan' ? `VTEP ${node.vtepMac}` : 'TUN'], cluster: node.name });
    edges.push({ from: eth, to: id, kind: 'route', label: 'encapsulation' });
    edges.push({ from: id, to: bridge, kind: 'route', label: "other nodes' pods" });
  } else {
    edges.push({ from: eth, to: bridge, kind: 'route', label: 'forwarding' });
  }
  edges.push({ from: 'router', to: eth, kind: 'link', label: node.uplinkPeer });
}

/** Edges between nodes: the tunnel between every pair of tunnel devices, or the routes that carry pod traffic plainly. */
function crossNode(plan: Plan, edges: GraphEdge[]): void {
  const tunnel = tunnelOf(plan);
  const nodes = plan.nodes;
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i]!;
      const b = nodes[j]!;
      if (tunnel) edges.push({ from: nodePartId(a.name, 'tunnel'), to: nodePartId(b.name, 'tunnel'), kind: 'tunnel', label: tunnel.edge });
      else if (plan.spec.podNetwork.backend === 'host-gw') edges.push({ from: nodePartId(a.name, 'eth0'), to: nodePartId(b.name, 'eth0'), kind: 'tunnel', label: `${b.podCIDR} via ${b.ip} / ${a.podCIDR} via ${a.ip}` });
    }
  }
}

function services(plan: Plan, ready: PodReady, nodes: GraphNode[], edges: GraphEdge[]): void {
  const endpoints = new Map(serviceEndpoints(plan, ready).map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const pods = new Map(plan.pods.map((p) => [p.ip, p]));
  for (const svc of plan.services) {
    const id = serviceId(svc.key);
    const ports = svc.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(' ');
    const address = svc.type === 'ExternalName' ? `→ ${svc.externalName}` : svc.clusterIP === 'None' ? 'headless' : svc.clusterIP!;
    nodes.push({ id, kind: 'service', label: [`svc ${svc.key}`, `${svc.type} ${address}`, ...(ports ? [ports] : [])], cluster: 'services' });
    const server = svc.type === 'ExternalName' ? plan.internet.servers.find((s) => s.name === svc.externalName) : undefined;
    if (server) edges.push({ from: id, to: `server:${server.name}`, kind: 'cname', label: 'CNAME' });
    if (svc.loadBalancerIP) edges.push({ from: 'lb', to: id, kind: 'lb', label: `${svc.loadBalancerIP} (${svc.externalTrafficPolicy})` });
    const ep = endpoints.get(svc.key);
    for (const subset of ep?.subsets ?? []) {
      const targets = [...new Set(subset.ports.map((p) => p.port))].sort((a, b) => a - b).join(',');
      for (const a of subset.addresses) {
        const pod = a.targetRef ? podId(`${a.targetRef.namespace}/${a.targetRef.name}`) : pods.has(a.ip) ? podId(pods.get(a.ip)!.key) : a.nodeName ? nodePartId(a.nodeName, 'eth0') : undefined;
        if (pod) edges.push({ from: id, to: pod, kind: 'dnat', label: `${a.ip}:${targets}` });
      }
    }
  }
}

function ingresses(plan: Plan, nodes: GraphNode[], edges: GraphEdge[]): void {
  const controller = serviceId(`${INGRESS_NGINX.namespace}/${INGRESS_NGINX.service}`);
  const seen = new Set<string>();
  for (const ing of plan.ingresses) {
    const rules = [...ing.rules, ...(ing.defaultBackend ? [{ host: undefined, paths: [{ path: '(default backend)', pathType: 'Prefix' as const, backend: ing.defaultBackend }] }] : [])];
    for (const rule of rules) {
      const host = rule.host ?? '*';
      const id = `ingress:${host}`;
      if (!seen.has(id)) {
        seen.add(id);
        const tls = ing.tls.some((t) => t.hosts.includes(host)) ? 'https' : 'http';
        nodes.push({ id, kind: 'ingress-host', label: [host, tls], cluster: 'ingress' });
        edges.push({ from: controller, to: id, kind: 'ingress', label: 'Host' });
      }
      for (const p of rule.paths) {
        const port = 'number' in p.backend.port ? p.backend.port.number : p.backend.port.name;
        edges.push({ from: id, to: serviceId(`${ing.namespace}/${p.backend.service}`), kind: 'ingress', label: `${p.path} → :${port}` });
      }
    }
  }
}

/**
 * The graph of a plan. `ready` says which pods are endpoints (all of them
 * when the lab is not running); `differences` and `highlight` mark what the
 * live kernel and a trace add.
 */
export function graphOf(plan: Plan, opts: { ready?: PodReady; differences?: PlaceDifference[]; highlight?: GraphHighlight } = {}): GraphModel {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const net = plan.internet;
  const clusters: GraphCluster[] = [{ id: 'internet', label: `internet ${plan.spec.external.cidr}` }];
  nodes.push({ id: 'internet', kind: 'internet', label: ['internet router', `${net.bridge} ${net.ip}`, `resolver ${net.resolver.ip}`], cluster: 'internet' });
  for (const c of net.clients) {
    nodes.push({ id: `client:${c.name}`, kind: 'client', label: [c.name, c.ip], cluster: 'internet' });
    edges.push({ from: `client:${c.name}`, to: 'internet', kind: 'link', label: c.peer });
  }
  for (const s of net.servers) {
    nodes.push({ id: `server:${s.name}`, kind: 'server', label: [s.name, s.ip, `ports ${s.ports.join(',')}`], cluster: 'internet' });
    edges.push({ from: `server:${s.name}`, to: 'internet', kind: 'link', label: s.peer });
  }
  const lbIPs = plan.services.filter((s) => s.loadBalancerIP).map((s) => s.loadBalancerIP!);
  nodes.push({ id: 'lb', kind: 'lb', label: ['load balancer', net.loadBalancer.ip, ...(lbIPs.length ? [`LB IPs ${lbIPs.join(', ')}`] : [])] });
  edges.push({ from: 'internet', to: 'lb', kind: 'link', label: net.loadBalancer.peer });
  const router = plan.router;
  const podRoutes = plan.spec.podNetwork.backend === 'cloud-routes' ? plan.nodes.map((n) => `${n.podCIDR} via ${n.ip}`) : [];
  nodes.push({ id: 'router', kind: 'router', label: ['router', `${router.bridge} ${router.ip}`, `uplink ${router.uplink.ip}`, ...podRoutes] });
  edges.push({ from: 'lb', to: 'router', kind: 'link', label: 'node network edge' });
  for (const node of plan.nodes) {
    clusters.push({ id: node.name, label: `${node.name} (${node.podCIDR})` });
    nodeParts(plan, node, nodes, edges);
  }
  crossNode(plan, edges);
  for (const pod of plan.pods) {
    if (pod.hostNetwork) {
      nodes.push({ id: podId(pod.key), kind: 'host-pod', label: [pod.key, `${pod.ip} (host network)`], cluster: pod.node });
      edges.push({ from: nodePartId(pod.node, 'eth0'), to: podId(pod.key), kind: 'link', label: 'same namespace' });
    } else {
      nodes.push({ id: podId(pod.key), kind: 'pod', label: [pod.key, pod.ip], cluster: pod.node });
      edges.push({ from: nodePartId(pod.node, 'cbr0'), to: podId(pod.key), kind: 'veth', label: pod.hostVeth });
    }
  }
  clusters.push({ id: 'services', label: `Services ${plan.spec.serviceNetwork.cidr} (kube-proxy ${plan.spec.serviceNetwork.proxyMode})` });
  services(plan, opts.ready ?? (() => true), nodes, edges);
  if (plan.ingresses.length) {
    clusters.push({ id: 'ingress', label: 'Ingress hosts (ingress-nginx)' });
    ingresses(plan, nodes, edges);
  }
  // An Ingress naming a Service the lab does not have leaves an edge with no end: it is not drawn.
  const ids = new Set(nodes.map((n) => n.id));
  const drawn = edges.filter((e) => ids.has(e.from) && ids.has(e.to));
  markDifferences(plan, nodes, opts.differences ?? []);
  if (opts.highlight) markPath(nodes, drawn, opts.highlight);
  return { lab: plan.lab, backend: plan.spec.podNetwork.backend, proxyMode: plan.spec.serviceNetwork.proxyMode, clusters, nodes, edges: drawn };
}

/** Which graph node a difference belongs to: the pod, the node's device the object names, or the internet-side role. */
function differenceTarget(plan: Plan, d: PlaceDifference): string | undefined {
  if (d.place.startsWith('pod ')) return podId(d.place.slice(4));
  const node = plan.nodes.find((n) => n.name === d.place);
  if (node) {
    if (d.object.includes(node.bridge) || /veth/.test(d.object)) return nodePartId(node.name, 'cbr0');
    if (/flannel|vxlan|fdb|neighbour|udp daemon/.test(d.object)) return tunnelOf(plan) ? nodePartId(node.name, 'tunnel') : nodePartId(node.name, 'eth0');
    return nodePartId(node.name, 'eth0');
  }
  if (d.place === 'router' || d.place === 'lb' || d.place === 'internet') return d.place;
  if (plan.internet.clients.some((c) => c.name === d.place)) return `client:${d.place}`;
  if (plan.internet.servers.some((s) => s.name === d.place)) return `server:${d.place}`;
  return undefined;
}

function markDifferences(plan: Plan, nodes: GraphNode[], differences: PlaceDifference[]): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const d of differences) {
    const target = byId.get(differenceTarget(plan, d) ?? '');
    if (target) (target.differs ??= []).push(`${d.object}: ${d.problem}`);
  }
}

function markPath(nodes: GraphNode[], edges: GraphEdge[], h: GraphHighlight): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const id of h.path) {
    const n = byId.get(id);
    if (n) n.onPath = true;
  }
  for (let i = 0; i + 1 < h.path.length; i++) {
    const a = h.path[i]!;
    const b = h.path[i + 1]!;
    for (const e of edges) if ((e.from === a && e.to === b) || (e.from === b && e.to === a)) e.onPath = true;
  }
  if (h.stop) {
    const n = byId.get(h.stop.id);
    if (n) n.stop = h.stop.reason;
  }
}
