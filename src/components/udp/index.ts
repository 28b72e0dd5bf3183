/** flannel's udp backend: a TUN device per node and a userspace forwarder that wraps each packet in one UDP datagram. */
import { daemonsFor } from '../../model/daemons.js';
import { udp } from './render.js';
import { backendComponent } from '../pod-network/component.js';

export const udpComponent = backendComponent(udp, { daemons: daemonsFor });
