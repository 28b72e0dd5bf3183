/** flannel's host-gw backend: a route per other node's pod CIDR via that node. */
import { hostGw } from './render.js';
import { backendComponent } from '../pod-network/component.js';

export const hostGwComponent = backendComponent(hostGw);
