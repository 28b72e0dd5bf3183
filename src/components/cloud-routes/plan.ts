/** What the planner needs of cloud-routes: no encapsulation; the router (the cloud's route table) holds a route per node's pod CIDR. */
import type { BackendInfo } from '../pod-network/plan.js';

export const cloudRoutesPlan: BackendInfo = {
  overhead: 0,
  tunnel: false,
  via: () => 'router pod route',
  wire: () => ({ format: { kind: 'plain' }, text: 'un-encapsulated, pod IPs on the wire' }),
};
