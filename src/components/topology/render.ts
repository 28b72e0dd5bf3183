/**
 * The lab's wiring, as `ip -batch` text per namespace:
 *
 *   external client ─┐
 *   external servers ─ internet (br0) ── load balancer (edge) ·· router (uplink, br0) ── node eth0 ── cbr0 ── pod eth0
 *
 * The router's uplink sits on the internet bridge too, but both directions
 * between the internet and the node network are routed through the load
 * balancer's namespace, as a cloud's edge: what it DNATs to a node comes
 * back through it, so clients keep their own address all the way.
 *
 * Every veth is created inside the namespace of one end with its peer sent
 * straight into the other, so no interface ever appears in the root namespace.
 */
import type { Plan, PodPlan } from '../../model/types.js';
import type { NetnsBatch, Sysctl } from '../../render/batch.js';

/** Every namespace of the lab, in creation order. */
export function labNamespaces(plan: Plan): string[] {
  return [
    plan.internet.netns,
    ...plan.internet.clients.map((c) => c.netns),
    plan.internet.loadBalancer.netns,
    ...plan.internet.servers.map((s) => s.netns),
    plan.router.netns,
    ...plan.nodes.map((n) => n.netns),
    // hostNetwork pods live in their node's namespace.
    ...plan.pods.filter((p) => !p.hostNetwork).map((p) => p.netns),
  ];
}

export function renderInternet(plan: Plan): NetnsBatch[] {
  const net = plan.internet;
  const lines = [
    'link set lo up',
    `link add ${net.bridge} type bridge`,
    `addr add ${net.address} dev ${net.bridge}`,
    `addr add ${net.resolver.ip}/${net.address.split('/')[1]} dev ${net.bridge}`,
    `link set ${net.bridge} up`,
  ];
  for (const c of [...net.clients, net.loadBalancer, ...net.servers]) {
    lines.push(`link add ${c.peer} type veth peer name eth0 netns ${c.netns}`, `link set ${c.peer} master ${net.bridge} up`);
  }
  lines.push(
    `link add ${plan.router.uplink.peer} type veth peer name ${plan.router.uplink.device} netns ${plan.router.netns}`,
    `link set ${plan.router.uplink.peer} master ${net.bridge} up`,
    // The internet reaches node IPs through the cloud's edge, never pod or service CIDRs.
    `route add ${plan.spec.nodeNetwork} via ${net.loadBalancer.ip}`,
  );
  return [{ netns: net.netns, lines }];
}

/** External clients and servers: one address on the internet bridge, the internet router as gateway. */
export function renderExternalClients(plan: Plan): NetnsBatch[] {
  const prefix = plan.internet.address.split('/')[1];
  return [...plan.internet.clients, ...plan.internet.servers].map((c) => ({
    netns: c.netns,
    lines: ['link set lo up', `addr add ${c.ip}/${prefix} dev eth0`, 'link set eth0 up', `route add default via ${plan.internet.ip}`],
  }));
}

/**
 * The load balancer's namespace: the edge between the internet and the node
 * network. Its load-balancer IPs are added and removed by the cloud
 * controller as services come and go.
 */
export function renderLoadBalancer(plan: Plan): NetnsBatch[] {
  const lb = plan.internet.loadBalancer;
  const prefix = plan.internet.address.split('/')[1];
  return [
    {
      netns: lb.netns,
      lines: [
        'link set lo up',
        `addr add ${lb.ip}/${prefix} dev eth0`,
        'link set eth0 up',
        `route add ${plan.spec.nodeNetwork} via ${plan.router.uplink.ip}`,
        `route add default via ${plan.internet.ip}`,
      ],
    },
  ];
}

export function renderRouter(plan: Plan): NetnsBatch[] {
  const r = plan.router;
  const lines = [
    'link set lo up',
    // A host address and a route to the edge only: with the whole internet
    // subnet on-link, replies to clients would skip the load balancer that
    // translated their requests.
    `addr add ${r.uplink.ip}/32 dev ${r.uplink.device}`,
    `link set ${r.uplink.device} up`,
    `route add ${plan.internet.loadBalancer.ip}/32 dev ${r.uplink.device}`,
    `route add default via ${plan.internet.loadBalancer.ip}`,
    `link add ${r.bridge} type bridge`,
    `link set ${r.bridge} mtu ${plan.spec.mtu}`,
    `addr add ${r.address} dev ${r.bridge}`,
    `link set ${r.bridge} up`,
  ];
  for (const n of plan.nodes) {
    lines.push(
      `link add ${n.uplinkPeer} mtu ${n.mtu} type veth peer name eth0 mtu ${n.mtu} netns ${n.netns}`,
      `link set ${n.uplinkPeer} master ${r.bridge} up`,
    );
  }
  return [{ netns: r.netns, lines }];
}

export function renderNodes(plan: Plan): NetnsBatch[] {
  return plan.nodes.map((n) => {
    const lines = [
      'link set lo up',
      `addr add ${n.address} dev eth0`,
      'link set eth0 up',
      `route add default via ${plan.router.ip}`,
      `link add ${n.bridge} address ${n.bridgeMac} type bridge`,
      `link set ${n.bridge} mtu ${n.podMtu}`,
      `addr add ${n.gateway}/${n.podCIDR.split('/')[1]} dev ${n.bridge}`,
      // kubelet's default hairpin mode, promiscuous-bridge: a pod reaching
      // itself through a service leaves and re-enters by the same port.
      `link set ${n.bridge} promisc on up`,
    ];
    for (const p of plan.pods.filter((p) => p.node === n.name && !p.hostNetwork)) lines.push(...podNodeLines(plan, p, n.bridge));
    return { netns: n.netns, lines };
  });
}

/** The node side of one pod: its veth pair, the host end on the bridge. Run in the node's namespace. */
/**
 * A pod's MAC follows from its IP (`0a:58:` and the four address bytes, as
 * the CNI bridge plugin makes it): a pod that reuses a removed pod's IP has
 * that pod's MAC too, so the neighbour entries other pods and the node
 * cached for the IP stay right instead of black-holing traffic until they
 * expire.
 */
export function podMac(ip: string): string {
  return ['0a', '58', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

export function podPortLines(p: PodPlan, bridge: string): string[] {
  return [
    `link add ${p.hostVeth} mtu ${p.mtu} type veth peer name eth0 address ${podMac(p.ip)} mtu ${p.mtu} netns ${p.netns}`,
    `link set ${p.hostVeth} master ${bridge} up`,
    `link set ${p.hostVeth} type bridge_slave hairpin on`,
  ];
}

/** The node side of one pod, for `up` and `apply` alike: its veth on the bridge and, in a pinned lab, its permanent entry there. */
export function podNodeLines(plan: Plan, p: PodPlan, bridge: string): string[] {
  return plan.staticNeighbours ? [...podPortLines(p, bridge), podNeighbourLine(p, bridge)] : podPortLines(p, bridge);
}

/** A pinned lab's node side of one pod: the pod's IP on the bridge, as ARP would have learned it (see model/neighbours.ts). */
export function podNeighbourLine(p: PodPlan, bridge: string): string {
  return `neigh replace ${p.ip} lladdr ${podMac(p.ip)} dev ${bridge} nud permanent`;
}

/** Removes a pinned entry, if there is one (`flush` of nothing is not an error, where `del` would stop the batch). */
export function unpinLine(ip: string, dev: string): string {
  return `neigh flush to ${ip} dev ${dev} nud permanent`;
}

/** A pinned lab's pod side: the gateway on eth0, at the MAC cbr0 was made with. */
export function gatewayNeighbourLine(p: PodPlan, bridgeMac: string): string {
  return `neigh replace ${p.gateway} lladdr ${bridgeMac} dev eth0 nud permanent`;
}

/**
 * The pod side, for `up` and `apply` alike: its eth0 address and default
 * route via the node's bridge. A pinned lab leaves a pod nothing to resolve
 * (see model/neighbours.ts): the gateway's entry is permanent, at the MAC
 * cbr0 was made with, and the pod's /24 has no on-link route, so a pod on
 * the same node is reached through the gateway too, as Calico routes every
 * pod's traffic through its host.
 */
export function renderPod(plan: Plan, p: PodPlan): NetnsBatch {
  if (!plan.staticNeighbours) return { netns: p.netns, lines: ['link set lo up', `addr add ${p.address} dev eth0`, 'link set eth0 up', `route add default via ${p.gateway}`] };
  const bridgeMac = plan.nodes.find((n) => n.name === p.node)!.bridgeMac;
  return {
    netns: p.netns,
    lines: ['link set lo up', `addr add ${p.address} dev eth0 noprefixroute`, 'link set eth0 up', gatewayNeighbourLine(p, bridgeMac), `route add ${p.gateway} dev eth0 scope link`, `route add default via ${p.gateway}`],
  };
}

/**
 * A running pod moved across the pinning line (`apply`, `scale`): its
 * address removed, which flushes the routes and entries on eth0, then the
 * pod side as `up` renders it (its links are up already). The gateway's
 * entry goes explicitly too, in case it outlived the address.
 */
export function repinPodLines(plan: Plan, p: PodPlan): string[] {
  return [`addr del ${p.address} dev eth0`, ...(plan.staticNeighbours ? [] : [unpinLine(p.gateway, 'eth0')]), ...renderPod(plan, p).lines];
}

export function renderPods(plan: Plan): NetnsBatch[] {
  return plan.pods.filter((p) => !p.hostNetwork).map((p) => renderPod(plan, p));
}

export function renderSysctls(plan: Plan): Sysctl[] {
  const forward = (netns: string): Sysctl => ({ netns, key: 'net.ipv4.ip_forward', value: '1' });
  return [
    forward(plan.internet.netns),
    forward(plan.internet.loadBalancer.netns),
    forward(plan.router.netns),
    // The internet router and the edge forward between hosts of one bridge;
    // redirects would teach clients to skip the edge.
    ...[plan.internet.netns, plan.internet.loadBalancer.netns].flatMap((netns) => [
      { netns, key: 'net.ipv4.conf.all.send_redirects', value: '0' },
      { netns, key: `net.ipv4.conf.${netns === plan.internet.netns ? plan.internet.bridge : 'eth0'}.send_redirects`, value: '0' },
    ]),
    // A cloud router does not tell nodes to bypass it; without this the
    // cloud-routes picture would collapse into direct node-to-node hops.
    { netns: plan.router.netns, key: 'net.ipv4.conf.all.send_redirects', value: '0' },
    { netns: plan.router.netns, key: `net.ipv4.conf.${plan.router.bridge}.send_redirects`, value: '0' },
    ...plan.nodes.flatMap((n) => [
      forward(n.netns),
      // Service DNAT must also see traffic between pods on one bridge, or
      // the reply of a same-node endpoint bypasses the un-DNAT.
      { netns: n.netns, key: 'net.bridge.bridge-nf-call-iptables', value: '1' },
      // kube-proxy's default: NodePorts answer on 127.0.0.1 of the node too.
      { netns: n.netns, key: 'net.ipv4.conf.all.route_localnet', value: '1' },
      // systemd's default on a host: any user may ping.
      unprivilegedPing(n.netns),
    ]),
    ...plan.pods.filter((p) => !p.hostNetwork).flatMap(podSysctls),
    ...(plan.staticNeighbours ? plan.nodes.flatMap((n) => pinnedNodeSysctls(n.netns, n.bridge, '0')) : []),
  ];
}

/** ICMP echo sockets (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`) open to every group, which `verify` pings through. */
function unprivilegedPing(netns: string): Sysctl {
  return { netns, key: 'net.ipv4.ping_group_range', value: '0 2147483647' };
}

/** A pod's own sysctls, for `up` and `apply` alike: what containerd (2.0 on, and Docker) sets in every sandbox. */
export function podSysctls(p: PodPlan): Sysctl[] {
  return [unprivilegedPing(p.netns)];
}

/**
 * A pinned lab's pods reach their node's other pods through cbr0: a
 * redirect would tell them to go direct, which means ARP again.
 * `value` '1' is the kernel's default, for a lab that unpins.
 */
export function pinnedNodeSysctls(netns: string, bridge: string, value: '0' | '1'): Sysctl[] {
  return [
    { netns, key: 'net.ipv4.conf.all.send_redirects', value },
    { netns, key: `net.ipv4.conf.${bridge}.send_redirects`, value },
  ];
}
