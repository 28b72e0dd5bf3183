/**
 * The path checks `verify` runs, derived from the plan alone (pure). Each
 * check is named after the path it proves and the objects it crosses, and
 * holds the probes that prove it.
 */
import { BACKENDS, type WireFormat } from '../components/pod-network/plan.js';
import { labDaemons } from '../components/registry.js';
import type { ProxyNodeInput } from '../model/services.js';
import { serviceChecks } from './service-checks.js';
import { outsideInChecks } from './outside-in-checks.js';
import { ingressChecks } from './ingress-checks.js';
import { dnsChecks, type DnsExpect, type DnsType } from './dns-checks.js';
import type { PodReady } from '../model/endpoints.js';
import type { Plan, PodPlan } from '../model/types.js';
import { PolicyView, podSource } from './policy-view.js';
import { policyChecks } from './policy-checks.js';

export type PathId = 'P1' | 'P2' | 'P3' | 'P4' | 'P5' | 'P6' | 'P7' | 'P8' | 'P9' | 'P10' | 'P11' | 'P12' | 'P13' | 'NODE' | 'MTU' | 'REACH' | 'CHECK';

/** Something a probe runs from: a namespace and how to call it. */
export interface Endpoint {
  netns: string;
  label: string;
}

export type Probe =
  /** `dig` in the namespace (with its resolv.conf; `search` applies the search list) gets this rcode and answer set. */
  | { kind: 'dns'; from: Endpoint; name: string; type: DnsType; search: boolean; tcp: boolean; expect: DnsExpect }
  /** The file, as a process started with `ip netns exec` in the namespace sees it (/etc/netns/<netns>/ over /etc), has exactly this content. */
  | { kind: 'file'; netns: string; label: string; path: string; content: string }
  /** `ping` must get an answer. */
  | { kind: 'ping'; from: Endpoint; ip: string; waitSeconds?: number }
  /** HTTP GET / must answer; optional expectations on the JSON the test server returns. */
  | { kind: 'http'; from: Endpoint; ip: string; port: number; expect: { pod?: string; container?: string; clientIP?: string }; timeoutMs?: number }
  /** Neither ping nor a TCP connection may get through. */
  | { kind: 'unreachable'; from: Endpoint; ip: string; port?: number }
  /** No interface of the root namespace leads into one of these namespaces. */
  | { kind: 'root-isolated'; netns: string[] }
  /** A ping from `from` to `ip`, captured on the sender node's eth0, must travel as `expect` says. */
  | {
      kind: 'encapsulation';
      from: Endpoint;
      srcIp: string;
      ip: string;
      node: Endpoint;
      expect: WireFormat;
    }
  /** With DF set, an ICMP payload of `fits` bytes crosses; `tooBig` is refused locally with "message too long". */
  | { kind: 'mtu'; from: Endpoint; ip: string; fits: number; tooBig: number }
  /** The lab's agent reports the daemon serving, and its UDP socket is bound in `node`. */
  | { kind: 'daemon'; lab: string; name: string; node: Endpoint; listen: { ip: string; port: number } }
  /**
   * `tries` HTTP requests, each on a new connection (a new conntrack entry,
   * so kube-proxy picks again): every answer comes from a pod in `allowed`,
   * every pod in `mustSee` answers at least once, and the client IP the pod
   * saw matches (`unlessFrom`/`onlyFrom` limit that to answers not from / only
   * from one pod). `sameEndpoint`: every answer from one pod (affinity).
   */
  | {
      kind: 'service';
      from: Endpoint;
      ip: string;
      port: number;
      tries: number;
      allowed: string[];
      mustSee: string[];
      clientIP?: { equals?: string; not?: string; unlessFrom?: string; onlyFrom?: string };
      sameEndpoint?: boolean;
    }
  /** GET / answers with this HTTP status, and its body contains `body`. */
  | { kind: 'http-status'; from: Endpoint; ip: string; port: number; status: number; body: string }
  /** A TCP connection is refused at once (RST or ICMP port unreachable), not left to time out. */
  | { kind: 'refused'; from: Endpoint; ip: string; port: number }
  /** A TCP connection gets no answer at all (dropped). */
  | { kind: 'dropped'; from: Endpoint; ip: string; port: number }
  /** A UDP datagram comes back unchanged. */
  | { kind: 'udp-echo'; from: Endpoint; ip: string; port: number }
  /** A UDP datagram gets no echo. */
  | { kind: 'udp-silent'; from: Endpoint; ip: string; port: number }
  /** A TCP connection (or a UDP request) from inside `from`, made in-process with a 1 s timeout: connected, or dropped without an answer. */
  | { kind: 'connect'; from: Endpoint; ip: string; port: number; protocol: 'TCP' | 'UDP'; expect: 'allowed' | 'blocked'; zone?: string }
  /** GET /bytes/N returns exactly N bytes. */
  | { kind: 'bytes'; from: Endpoint; ip: string; port: number; size: number }
  /**
   * A request for `host` and `path` sent to `ip` (curl --resolve, so Host and
   * SNI both carry the name): the status, and for a backend's answer the pod
   * that gave it. HTTPS is checked against `caFile` (curl fails on any other
   * certificate or name).
   */
  | {
      kind: 'ingress';
      from: Endpoint;
      scheme: 'http' | 'https';
      ip: string;
      port: number;
      host: string;
      path: string;
      caFile?: string;
      /** Extra request headers, `Name: value`. */
      headers?: string[];
      /** The same request this many times on one curl (default 1); with `cookies`, later ones send what earlier answers set. */
      count?: number;
      cookies?: boolean;
      /** A gRPC call over HTTP/2 with an empty message, the path naming the method. */
      grpc?: boolean;
      expect: {
        status: number;
        /** Every answer comes from one of these pods. */
        pods?: string[];
        /** The Location header of a redirect. */
        location?: string;
        /** The request target the backend got (after rewrite-target). */
        target?: string;
        /** Each of these groups answers at least once (a canary's share). */
        each?: string[][];
        /** Every answer comes from the same pod (cookie affinity). */
        samePod?: boolean;
        /** A weighted canary's pods answer between min and max of the requests (ingress-checks.ts says why). */
        share?: ShareExpectation;
      };
    };

export interface ShareExpectation {
  canary: string[];
  share: number;
  min: number;
  max: number;
}

export interface Check {
  path: PathId;
  name: string;
  probes: Probe[];
}

const podEnd = (p: PodPlan): Endpoint => ({ netns: p.netns, label: p.key });

/** A TCP port the test server answers on; containers running a program of their own (the DNS server) have none. */
function firstTcpPort(p: PodPlan): { port: number; container: string } | undefined {
  for (const c of p.containers) {
    if (c.program) continue;
    const port = c.ports.find((x) => x.protocol === 'TCP');
    if (port) return { port: port.containerPort, container: c.name };
  }
  return undefined;
}

/** ping, and when the target serves HTTP, a request whose answer shows the sender's own pod IP (no NAT). */
function podToPod(src: PodPlan, dst: PodPlan): Probe[] {
  const probes: Probe[] = [{ kind: 'ping', from: podEnd(src), ip: dst.ip }];
  const tcp = firstTcpPort(dst);
  if (tcp) {
    probes.push({ kind: 'http', from: podEnd(src), ip: dst.ip, port: tcp.port, expect: { pod: dst.name, container: tcp.container, clientIP: src.ip } });
  }
  return probes;
}

export function containerChecks(plan: Plan): Check[] {
  const checks: Check[] = [];
  for (const pod of plan.pods) {
    if (pod.containers.length < 2) continue;
    for (const from of pod.containers) {
      for (const to of pod.containers) {
        if (from === to) continue;
        const port = to.ports.find((p) => p.protocol === 'TCP');
        if (!port) continue;
        checks.push({
          path: 'P1',
          name: `P1 pod ${pod.key}: container ${from.name} -> container ${to.name} via localhost:${port.containerPort}`,
          probes: [{ kind: 'http', from: podEnd(pod), ip: '127.0.0.1', port: port.containerPort, expect: { pod: pod.name, container: to.name, clientIP: '127.0.0.1' } }],
        });
      }
    }
  }
  return checks;
}

function podsByNode(plan: Plan): Map<string, PodPlan[]> {
  const map = new Map(plan.nodes.map((n) => [n.name, [] as PodPlan[]]));
  for (const p of plan.pods) map.get(p.node)?.push(p);
  return map;
}

/** Whether the policies let `src` ping `dst` and reach its first TCP port. */
const pathOpen = (view: PolicyView | undefined, src: PodPlan, dst: PodPlan) => !view || view.podPathOpen(podSource(src), dst, firstTcpPort(dst)?.port);

/**
 * Same node: every pod sends to the next one on its node (a ring), so every
 * pod sends and receives once; under policies, to the next one they allow.
 */
export function sameNodeChecks(plan: Plan, view?: PolicyView): Check[] {
  const checks: Check[] = [];
  for (const [node, pods] of podsByNode(plan)) {
    if (pods.length < 2) continue;
    const node0 = plan.nodes.find((n) => n.name === node)!;
    pods.forEach((src, i) => {
      const dst = pods.map((_, j) => pods[(i + 1 + j) % pods.length]!).find((d) => d !== src && pathOpen(view, src, d));
      if (!dst) return;
      checks.push({
        path: 'P2',
        name: `P2 pod ${src.key} -> ${dst.key} on ${node} via ${src.hostVeth}/${node0.bridge}/${dst.hostVeth}`,
        probes: podToPod(src, dst),
      });
    });
  }
  return checks;
}

/** Cross node: one pod pair for every ordered pair of nodes that both run pods (and, under policies, a pair they allow). */
export function crossNodeChecks(plan: Plan, view?: PolicyView): Check[] {
  const checks: Check[] = [];
  const byNode = podsByNode(plan);
  const via = BACKENDS[plan.spec.podNetwork.backend].via(plan.spec);
  let k = 0;
  for (const a of plan.nodes) {
    for (const b of plan.nodes) {
      if (a === b) continue;
      const srcs = byNode.get(a.name)!;
      const dsts = byNode.get(b.name)!;
      if (!srcs.length || !dsts.length) continue;
      const order = [...dsts.filter((p) => firstTcpPort(p)), ...dsts.filter((p) => !firstTcpPort(p))];
      const pair = srcs
        .map((_, j) => srcs[(k + j) % srcs.length]!)
        .flatMap((src) => order.map((dst) => ({ src, dst })))
        .find(({ src, dst }) => pathOpen(view, src, dst));
      k++;
      if (!pair) continue;
      const { src, dst } = pair;
      checks.push({
        path: 'P3',
        name: `P3 pod ${src.key} (${a.name}) -> ${dst.key} (${b.name}) via ${via}, source IP kept`,
        probes: podToPod(src, dst),
      });
    }
  }
  return checks;
}

/** Nodes reach pods on themselves and on other nodes; pods reach their node (a pod's own node is never policed). */
export function nodeChecks(plan: Plan, view?: PolicyView): Check[] {
  const checks: Check[] = [];
  const byNode = podsByNode(plan);
  plan.nodes.forEach((node, i) => {
    const local = byNode.get(node.name)![0];
    // Another node's pods see this node's address: under policies, one that admits it.
    const open = (p: PodPlan) => !view || view.podPathOpen({ kind: 'node', node }, p);
    const other = plan.nodes.map((_, j) => plan.nodes[(i + 1 + j) % plan.nodes.length]!).find((n) => n !== node && byNode.get(n.name)!.some(open));
    const remote = other ? byNode.get(other.name)!.find(open) : undefined;
    const nodeEnd = { netns: node.netns, label: `node/${node.name}` };
    if (local) {
      checks.push({ path: 'NODE', name: `NODE node/${node.name} -> pod ${local.key} via ${node.bridge}`, probes: [{ kind: 'ping', from: nodeEnd, ip: local.ip }] });
      checks.push({ path: 'NODE', name: `NODE pod ${local.key} -> node/${node.name} (${node.ip}) via its default route`, probes: [{ kind: 'ping', from: podEnd(local), ip: node.ip }] });
    }
    if (remote && other) {
      checks.push({
        path: 'NODE',
        name: `NODE node/${node.name} -> pod ${remote.key} (${other.name}) via ${BACKENDS[plan.spec.podNetwork.backend].via(plan.spec)}`,
        probes: [{ kind: 'ping', from: nodeEnd, ip: remote.ip }],
      });
    }
  });
  return checks;
}

/** Every node-level daemon that serves peers (the udp backend's forwarder) is up and bound where they send to it. */
export function daemonChecks(plan: Plan): Check[] {
  return labDaemons(plan).flatMap((spec) => {
    const node = plan.nodes.find((n) => n.netns === spec.netns);
    if (!spec.serves || !node) return [];
    const { ip, port, protocol, note } = spec.serves;
    return [
      {
        path: 'NODE' as const,
        name: `NODE node/${node.name} runs daemon ${spec.name}, bound to ${protocol} ${ip}:${port} and ${note}`,
        probes: [{ kind: 'daemon' as const, lab: plan.lab, name: spec.name, node: { netns: node.netns, label: `node/${node.name}` }, listen: { ip, port } }],
      },
    ];
  });
}

/** Nothing outside the lab reaches a pod: not the internet side, not the host's own namespace. */
export function isolationChecks(plan: Plan): Check[] {
  const checks: Check[] = [];
  const byNode = podsByNode(plan);
  for (const client of plan.internet.clients) {
    for (const node of plan.nodes) {
      const pod = byNode.get(node.name)![0];
      if (!pod) continue;
      const tcp = firstTcpPort(pod);
      checks.push({
        path: 'P13',
        name: `P13 ${client.name} -> pod ${pod.key} (${pod.ip}) is unreachable: pod CIDR not routed outside the cluster`,
        probes: [{ kind: 'unreachable', from: { netns: client.netns, label: client.name }, ip: pod.ip, ...(tcp ? { port: tcp.port } : {}) }],
      });
    }
  }
  checks.push({
    path: 'P13',
    name: `P13 host root namespace has no interface into the lab's namespaces`,
    probes: [{ kind: 'root-isolated', netns: [plan.router.netns, plan.internet.netns, plan.internet.loadBalancer.netns, ...plan.internet.servers.map((s) => s.netns), ...plan.nodes.map((n) => n.netns), ...plan.pods.map((p) => p.netns)] }],
  });
  return checks;
}

/** The first pair of pods on two different nodes, preferring a receiver that serves HTTP; under policies, a pair they allow. */
function crossNodePair(plan: Plan, view?: PolicyView): { src: PodPlan; dst: PodPlan } | undefined {
  const byNode = podsByNode(plan);
  for (const a of plan.nodes) {
    for (const b of plan.nodes) {
      if (a === b) continue;
      const dsts = byNode.get(b.name)!;
      const order = [...dsts.filter((p) => firstTcpPort(p)), ...dsts.filter((p) => !firstTcpPort(p))];
      for (const src of byNode.get(a.name)!) {
        const dst = order.find((d) => pathOpen(view, src, d));
        if (dst) return { src, dst };
      }
    }
  }
  return undefined;
}

/**
 * How a cross-node packet looks on the wire of the sending node: inside
 * VXLAN (flannel.1), inside a UDP datagram (flannel0 + daemon), or bare
 * with the pod IPs in its only IP header (routed backends).
 */
export function encapsulationChecks(plan: Plan, view?: PolicyView): Check[] {
  const pair = crossNodePair(plan, view);
  if (!pair) return [];
  const { src, dst } = pair;
  const node = plan.nodes.find((n) => n.name === src.node)!;
  const { format: expect, text: how } = BACKENDS[plan.spec.podNetwork.backend].wire(plan.spec);
  return [
    {
      path: expect.kind === 'plain' ? 'P3' : 'P4',
      name: `${expect.kind === 'plain' ? 'P3' : 'P4'} pod ${src.key} (${src.node}) -> ${dst.key} (${dst.node}) crosses ${src.node} eth0 ${how}`,
      probes: [{ kind: 'encapsulation', from: podEnd(src), srcIp: src.ip, ip: dst.ip, node: { netns: node.netns, label: `node/${node.name}` }, expect }],
    },
  ];
}

/** The pod MTU matches the path: the largest unfragmentable ping crosses, one byte more is refused at once. */
export function mtuChecks(plan: Plan, view?: PolicyView): Check[] {
  const pair = crossNodePair(plan, view);
  if (!pair) return [];
  const { src, dst } = pair;
  const fits = src.mtu - 28; // IPv4 20 + ICMP 8
  const checks: Check[] = [
    {
      path: 'MTU',
      name: `MTU pod ${src.key} (${src.node}) -> ${dst.key} (${dst.node}): ${fits}-byte DF ping crosses, ${fits + 1} is refused (pod MTU ${src.mtu})`,
      probes: [{ kind: 'mtu', from: podEnd(src), ip: dst.ip, fits, tooBig: fits + 1 }],
    },
  ];
  const tcp = firstTcpPort(dst);
  if (tcp) {
    checks.push({
      path: 'MTU',
      name: `MTU pod ${src.key} (${src.node}) -> ${dst.key} (${dst.node}): a 64 KiB HTTP response arrives whole`,
      probes: [{ kind: 'bytes', from: podEnd(src), ip: dst.ip, port: tcp.port, size: 65536 }],
    });
  }
  return checks;
}

/** Every check; service and DNS checks need the endpoints kube-proxy programs now (from the agent's readiness). */
/** `view`: the policies' view of the same plan and proxy, when the caller has built it already. */
export function allChecks(plan: Plan, proxy: ProxyNodeInput[] = [], ready: PodReady = () => true, view = new PolicyView(plan, proxy)): Check[] {
  // Pod-network paths are proven between pods with their own namespace; hostNetwork pods are the node (P9).
  const podNetwork: Plan = { ...plan, pods: plan.pods.filter((p) => !p.hostNetwork) };
  // Under NetworkPolicies the checks pick pairs the policies allow or expect the drops they predict.
  const policed = view.active ? view : undefined;
  return [
    ...containerChecks(podNetwork),
    ...sameNodeChecks(podNetwork, policed),
    ...crossNodeChecks(podNetwork, policed),
    ...encapsulationChecks(podNetwork, policed),
    ...mtuChecks(podNetwork, policed),
    ...daemonChecks(plan),
    ...nodeChecks(plan, policed),
    ...isolationChecks(podNetwork),
    ...serviceChecks(podNetwork, proxy, plan.pods, policed),
    ...dnsChecks(podNetwork, ready, policed),
    ...outsideInChecks(plan, proxy, policed),
    ...ingressChecks(plan, proxy, policed),
    ...policyChecks(plan, view),
  ];
}
