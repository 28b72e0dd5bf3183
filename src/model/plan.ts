/**
 * LabSpec → Plan: every namespace name, address and placement, decided
 * without touching the machine. Deterministic: the same spec (and previous
 * plan) always gives the same plan. Passing the previous plan keeps pods on
 * their node and IP, and services on their ClusterIP and node ports, across
 * rebuilds, as a real cluster keeps running objects.
 */
import { servedIngresses } from '../spec/ingress.js';
import { ConfigError, type ConfigProblem } from '../util/errors.js';
import { cidr, nthAddress, nthSubnet, offsetIn, prefixLength, withPrefix } from '../util/addresses.js';
import { BACKENDS } from '../components/pod-network/plan.js';
import { netnsName, podHostVeth, portTo, stableMac } from './names.js';
import { pinsNeighbours } from './neighbours.js';
import { placePods } from './placement.js';
import { planServices } from './services-plan.js';
import { withClusterDns } from './cluster-dns.js';
import { withIngressNginx } from './ingress-nginx.js';
import type { ExternalHostPlan, NodePlan, Plan, PodPlan } from './types.js';
import type { LabSpec } from '../spec/lab.js';

/** Node-network offsets: the router is .1, nodes start at .11. */
export const ROUTER_OFFSET = 1;
export const FIRST_NODE_OFFSET = 11;
/** Internet-side offsets: its router .1, the node-network router's uplink .2, the resolver .3, the load balancer .4, clients from .10. */
export const INTERNET_ROUTER_OFFSET = 1;
export const UPLINK_OFFSET = 2;
export const RESOLVER_OFFSET = 3;
export const LOAD_BALANCER_OFFSET = 4;
export const FIRST_CLIENT_OFFSET = 10;
/** Pod addresses in a node /24: .1 is cbr0, pods from .2. */
const FIRST_POD_OFFSET = 2;

export const EXTERNAL_CLIENTS = ['external'];

export function planLab(fileSpec: LabSpec, previous?: Plan): Plan {
  const spec = withIngressNginx(withClusterDns(fileSpec));
  const lab = spec.name;
  const backend = BACKENDS[spec.podNetwork.backend];

  const nodeNet = cidr(spec.nodeNetwork);
  const extNet = cidr(spec.external.cidr);
  const podMtu = spec.mtu - backend.overhead;

  const nodes = planNodes(spec, previous, podMtu);
  const router = {
    netns: netnsName.router(lab),
    bridge: 'br0',
    ip: nthAddress(nodeNet, ROUTER_OFFSET),
    address: withPrefix(nthAddress(nodeNet, ROUTER_OFFSET), nodeNet),
    uplink: {
      device: 'uplink',
      peer: portTo('router'),
      ip: nthAddress(extNet, UPLINK_OFFSET),
      address: withPrefix(nthAddress(extNet, UPLINK_OFFSET), extNet),
    },
  };
  const clients: ExternalHostPlan[] = EXTERNAL_CLIENTS.map((name, i) => ({
    name,
    netns: netnsName.external(lab, name),
    ip: nthAddress(extNet, FIRST_CLIENT_OFFSET + i),
    peer: portTo(name),
  }));
  const internet = {
    netns: netnsName.internet(lab),
    bridge: 'br0',
    ip: nthAddress(extNet, INTERNET_ROUTER_OFFSET),
    address: withPrefix(nthAddress(extNet, INTERNET_ROUTER_OFFSET), extNet),
    resolver: { ip: nthAddress(extNet, RESOLVER_OFFSET) },
    clients,
    loadBalancer: { netns: netnsName.loadBalancer(lab), ip: nthAddress(extNet, LOAD_BALANCER_OFFSET), peer: portTo('lb') },
    servers: spec.external.servers.map((s, i) => ({ name: s.name, netns: netnsName.server(lab, i), ip: s.address, ports: s.ports, peer: portTo(`srv${i}`) })),
  };

  // Pods and services are planned independently, so both report their problems at once.
  const problems: ConfigProblem[] = [];
  const pods = collecting(problems, () => planPods(spec, previous, nodes));
  const services = collecting(problems, () => planServices(spec, nodes, previous));
  if (!pods || !services) throw new ConfigError(problems);
  const staticNeighbours = pinsNeighbours(pods.filter((p) => !p.hostNetwork).length, nodes.length);
  return { version: 1, lab, spec, router, internet, nodes, pods, services, ingresses: servedIngresses(spec), staticNeighbours };
}

function collecting<T>(problems: ConfigProblem[], plan: () => T): T | undefined {
  try {
    return plan();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
    return undefined;
  }
}

function planNodes(spec: LabSpec, previous: Plan | undefined, podMtu: number): NodePlan[] {
  const nodeNet = cidr(spec.nodeNetwork);
  const podNet = cidr(spec.podNetwork.cidr);
  const before = new Map(previous?.nodes.map((n) => [n.name, n]) ?? []);
  // A surviving node keeps its IP and pod /24; new nodes take the lowest free ones.
  const usedSubnets = new Set<number>();
  const usedIps = new Set<number>();
  const kept = new Map<string, { subnet: number; ip: number }>();
  for (const node of spec.nodes) {
    const old = before.get(node.name);
    if (!old) continue;
    const subnet = offsetIn(podNet, old.podCIDR.split('/')[0]!);
    const ip = offsetIn(nodeNet, old.ip);
    if (subnet === undefined || ip === undefined || old.podCIDR.split('/')[1] !== '24') continue;
    const index = subnet / 256;
    if (usedSubnets.has(index) || usedIps.has(ip)) continue;
    usedSubnets.add(index);
    usedIps.add(ip);
    kept.set(node.name, { subnet: index, ip });
  }
  let nextSubnet = 0;
  let nextIp = FIRST_NODE_OFFSET;
  return spec.nodes.map((node) => {
    let slot = kept.get(node.name);
    if (!slot) {
      while (usedSubnets.has(nextSubnet)) nextSubnet++;
      while (usedIps.has(nextIp)) nextIp++;
      slot = { subnet: nextSubnet, ip: nextIp };
      usedSubnets.add(nextSubnet);
      usedIps.add(nextIp);
    }
    const podCIDR = nthSubnet(podNet, 24, slot.subnet);
    const ip = nthAddress(nodeNet, slot.ip);
    return {
      name: node.name,
      netns: netnsName.node(spec.name, node.name),
      ip,
      address: withPrefix(ip, nodeNet),
      podCIDR: podCIDR.toCidrString(),
      gateway: nthAddress(podCIDR, 1),
      bridge: 'cbr0',
      mtu: spec.mtu,
      podMtu,
      uplinkPeer: portTo(node.name),
      vtepMac: stableMac(`${spec.name}/${node.name}/vtep`),
      bridgeMac: stableMac(`${spec.name}/${node.name}/cbr0`),
      labels: node.labels,
    };
  });
}

function planPods(spec: LabSpec, previous: Plan | undefined, nodes: NodePlan[]): PodPlan[] {
  const before = new Map(previous?.pods.map((p) => [p.key, p]) ?? []);
  const placement = placePods(
    spec.pods,
    spec.nodes,
    new Map([...before.values()].map((p) => [p.key, p.node])),
  );
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const used = new Map(nodes.map((n) => [n.name, new Set<number>()]));
  const problems: ConfigProblem[] = [];

  // First pass: pods that stay on their node keep their address.
  const keptIp = new Map<string, number>();
  for (const pod of spec.pods) {
    if (pod.hostNetwork) continue;
    const key = `${pod.namespace}/${pod.name}`;
    const node = byName.get(placement.get(key)!)!;
    const old = before.get(key);
    if (!old || old.node !== node.name) continue;
    const offset = offsetIn(cidr(node.podCIDR), old.ip);
    if (offset === undefined || offset < FIRST_POD_OFFSET || used.get(node.name)!.has(offset)) continue;
    used.get(node.name)!.add(offset);
    keptIp.set(key, offset);
  }

  const vethsByNode = new Map(nodes.map((n) => [n.name, new Set<string>()]));
  const pods: PodPlan[] = [];
  const hostPorts = new HostPorts(problems);
  for (const pod of spec.pods) {
    const key = `${pod.namespace}/${pod.name}`;
    const node = byName.get(placement.get(key)!)!;
    hostPorts.claim(pod, key, node.name);
    if (pod.hostNetwork) {
      pods.push(hostNetworkPod(pod, key, node));
      continue;
    }
    const range = cidr(node.podCIDR);
    const taken = used.get(node.name)!;
    let offset = keptIp.get(key);
    if (offset === undefined) {
      offset = FIRST_POD_OFFSET;
      while (taken.has(offset)) offset++;
      if (offset >= Number(range.getSize()) - 1) {
        problems.push({
          code: 'capacity',
          source: pod.source,
          message: `node ${node.name} has no free address left in ${node.podCIDR} for pod ${key}; add a node or spread pods with nodeSelector`,
        });
        continue;
      }
      taken.add(offset);
    }
    // Hash collisions between veth names on one node are astronomically rare; salt if one happens.
    const veths = vethsByNode.get(node.name)!;
    let salt = 0;
    let hostVeth = podHostVeth(spec.name, pod.namespace, pod.name);
    while (veths.has(hostVeth)) hostVeth = podHostVeth(spec.name, pod.namespace, pod.name, ++salt);
    veths.add(hostVeth);
    const ip = nthAddress(range, offset);
    pods.push({
      ...podFields(pod, key),
      netns: netnsName.pod(spec.name, pod.namespace, pod.name),
      node: node.name,
      ip,
      address: `${ip}/${prefixLength(range)}`,
      gateway: node.gateway,
      hostVeth,
      mtu: node.podMtu,
    });
  }
  if (problems.length) throw new ConfigError(problems);
  return pods;
}

type PodWiring = 'netns' | 'node' | 'ip' | 'address' | 'gateway' | 'hostVeth' | 'mtu';

/** What a planned pod carries over from its spec, whatever its wiring. */
function podFields(pod: LabSpec['pods'][number], key: string): Omit<PodPlan, PodWiring> {
  return {
    namespace: pod.namespace,
    name: pod.name,
    key,
    labels: pod.labels,
    containers: pod.containers.map((c) => ({ name: c.name, ports: c.ports, ...(c.readinessProbe ? { readinessProbe: c.readinessProbe } : {}), ...(c.program ? { program: c.program } : {}) })),
    ...(pod.owner ? { owner: pod.owner } : {}),
    ...(pod.hostname ? { hostname: pod.hostname } : {}),
    ...(pod.subdomain ? { subdomain: pod.subdomain } : {}),
    dnsPolicy: pod.dnsPolicy,
    ...(pod.dnsConfig ? { dnsConfig: pod.dnsConfig } : {}),
    ...(pod.hostNetwork ? { hostNetwork: true } : {}),
  };
}

/** A hostNetwork pod: the node's namespace and address, no veth of its own. */
function hostNetworkPod(pod: LabSpec['pods'][number], key: string, node: NodePlan): PodPlan {
  return { ...podFields(pod, key), netns: node.netns, node: node.name, ip: node.ip, address: node.address, gateway: node.gateway, hostVeth: '', mtu: node.mtu };
}

/**
 * Ports of a node that pods take: host ports (DNATed by portmap) and every
 * port of a hostNetwork pod. Two pods cannot hold one, which the scheduler
 * would prevent by placing them apart; here placement is fixed, so it is
 * reported with both pods named.
 */
class HostPorts {
  private readonly owners = new Map<string, string>();
  constructor(private readonly problems: ConfigProblem[]) {}

  claim(pod: LabSpec['pods'][number], key: string, node: string): void {
    for (const c of pod.containers) {
      for (const p of c.ports) {
        const port = pod.hostNetwork ? p.containerPort : p.hostPort;
        if (port === undefined) continue;
        const slot = `${node}/${port}/${p.protocol}`;
        const other = this.owners.get(slot);
        if (other && other !== key) {
          this.problems.push({
            code: 'duplicate',
            source: pod.source,
            message: `pod ${key} needs host port ${port}/${p.protocol} on node ${node}, which pod ${other} already holds; move one with nodeName or nodeSelector, or pick another hostPort`,
          });
        } else this.owners.set(slot, key);
      }
    }
  }
}
