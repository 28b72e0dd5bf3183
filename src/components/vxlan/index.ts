/** flannel's vxlan backend: a VTEP per node, with a permanent neighbour and fdb entry for every other node's VTEP. */
import { vxlan } from './render.js';
import { backendComponent } from '../pod-network/component.js';

export const vxlanComponent = backendComponent(vxlan);
