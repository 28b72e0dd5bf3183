/** flannel's vxlan backend: a VTEP per node, with a permanent neighbour and fdb entry for every other node's VTEP. */
import { vxlan } from '../../render/pod-network/vxlan.js';
import { backendComponent } from '../pod-network.js';

export const vxlanComponent = backendComponent(vxlan);
