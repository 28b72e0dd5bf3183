/** What the planner needs of host-gw: no encapsulation; another node's pods are a route away. */
import type { BackendInfo } from '../pod-network/plan.js';

export const hostGwPlan: BackendInfo = {
  overhead: 0,
  tunnel: false,
  via: () => 'host-gw route',
  wire: () => ({ format: { kind: 'plain' }, text: 'un-encapsulated, pod IPs on the wire' }),
};
