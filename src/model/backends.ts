/**
 * What the planner must know about each pod-network backend: the bytes its
 * encapsulation costs (so cbr0 and pod eth0 get a matching MTU) and whether
 * this version implements it. Rendering lives in `render/pod-network/`.
 */
import type { BackendName, LabSpec } from './types.js';

export interface BackendInfo {
  /** Bytes of encapsulation per packet: pod MTU = node MTU - overhead. */
  overhead: number;
  /** How a cross-node packet travels, for check names. */
  via: (spec: LabSpec) => string;
}

export const BACKENDS: Record<BackendName, BackendInfo> = {
  'host-gw': { overhead: 0, via: () => 'host-gw route' },
  'cloud-routes': { overhead: 0, via: () => 'router pod route' },
  // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8, as flannel reserves
  vxlan: { overhead: 50, via: (spec) => `vxlan flannel.${spec.podNetwork.vxlan.vni}` },
  // outer IPv4 20 + UDP 8: the TUN payload is the inner IP packet
  udp: { overhead: 28, via: () => 'udp flannel0 daemon' },
};
