/** What the planner needs of udp: outer IPv4 20 + UDP 8 bytes per packet (the TUN payload is the inner IP packet), so pods get the node MTU minus 28. */
import type { BackendInfo } from '../pod-network/plan.js';

export const udpPlan: BackendInfo = {
  overhead: 28,
  tunnel: true,
  via: () => 'udp flannel0 daemon',
  wire: (spec) => ({ format: { kind: 'udp', port: spec.podNetwork.udp.port }, text: `inside a UDP ${spec.podNetwork.udp.port} datagram` }),
};
