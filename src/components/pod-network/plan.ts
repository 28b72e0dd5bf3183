/**
 * What the planner must know about each pod-network backend: the bytes its
 * encapsulation costs (so cbr0 and pod eth0 get a matching MTU) and whether
 * this version implements it. Rendering lives in `render/pod-network/`.
 */
import type { BackendName, LabSpec } from '../../spec/lab.js';

export interface BackendInfo {
  /** Bytes of encapsulation per packet: pod MTU = node MTU - overhead. */
  overhead: number;
  /** Other nodes' pods are routed through a tunnel device holding the node's VTEP address, so the node's own packets to them carry that address. */
  tunnel: boolean;
  /** How a cross-node packet travels, for check names. */
  via: (spec: LabSpec) => string;
}

export const BACKENDS: Record<BackendName, BackendInfo> = {
  'host-gw': { overhead: 0, tunnel: false, via: () => 'host-gw route' },
  'cloud-routes': { overhead: 0, tunnel: false, via: () => 'router pod route' },
  // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8, as flannel reserves
  vxlan: { overhead: 50, tunnel: true, via: (spec) => `vxlan flannel.${spec.podNetwork.vxlan.vni}` },
  // outer IPv4 20 + UDP 8: the TUN payload is the inner IP packet
  udp: { overhead: 28, tunnel: true, via: () => 'udp flannel0 daemon' },
};

/** The /24's network address: the VTEP address of a node and the next hop other nodes use for its pods. */
export const vtepAddress = (n: { podCIDR: string }): string => n.podCIDR.split('/')[0]!;

/**
 * The source address of packets the node itself sends to another node's
 * pods (a hostNetwork pod, a masqueraded NodePort or a probe from the node):
 * the tunnel device's address for overlays, as flannel's routes pick it, else
 * the node IP.
 */
export function nodeSourceAddress(backend: BackendName, node: { podCIDR: string; ip: string }): string {
  return BACKENDS[backend].tunnel ? vtepAddress(node) : node.ip;
}
