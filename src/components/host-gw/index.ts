/** flannel's host-gw backend: a route per other node's pod CIDR via that node. */
import { hostGw } from '../../render/pod-network/host-gw.js';
import { backendComponent } from '../pod-network.js';

export const hostGwComponent = backendComponent(hostGw);
