/**
 * What the planner must know about each pod-network backend: the bytes its
 * encapsulation costs (so cbr0 and pod eth0 get a matching MTU), whether it
 * tunnels, and how a cross-node packet travels. Each backend says it in the
 * `plan.ts` of its own folder.
 */
import type { BackendName, LabSpec } from '../../spec/lab.js';
import { cloudRoutesPlan } from '../cloud-routes/plan.js';
import { hostGwPlan } from '../host-gw/plan.js';
import { udpPlan } from '../udp/plan.js';
import { vxlanPlan } from '../vxlan/plan.js';

/** How a cross-node packet looks on the sending node's eth0, which `verify` captures there. */
export type WireFormat = { kind: 'vxlan'; port: number; vni: number } | { kind: 'udp'; port: number } | { kind: 'plain' };

export interface BackendInfo {
  /** Bytes of encapsulation per packet: pod MTU = node MTU - overhead. */
  overhead: number;
  /** Other nodes' pods are routed through a tunnel device holding the node's VTEP address, so the node's own packets to them carry that address. */
  tunnel: boolean;
  /** How a cross-node packet travels, for check names. */
  via: (spec: LabSpec) => string;
  /** What a cross-node packet looks like on the wire, and the words for it in check names. */
  wire: (spec: LabSpec) => { format: WireFormat; text: string };
}

export const BACKENDS: Record<BackendName, BackendInfo> = {
  'host-gw': hostGwPlan,
  'cloud-routes': cloudRoutesPlan,
  vxlan: vxlanPlan,
  udp: udpPlan,
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
