/** What the planner needs of vxlan: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 bytes per packet, as flannel reserves. */
import type { BackendInfo } from '../pod-network/plan.js';

export const vxlanPlan: BackendInfo = {
  overhead: 50,
  tunnel: true,
  via: (spec) => `vxlan flannel.${spec.podNetwork.vxlan.vni}`,
  wire: ({ podNetwork: { vxlan } }) => ({ format: { kind: 'vxlan', port: vxlan.port, vni: vxlan.vni }, text: `inside VXLAN (UDP ${vxlan.port}, VNI ${vxlan.vni})` }),
};
