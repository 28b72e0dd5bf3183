/**
 * flannel's udp backend: a TUN device per node and a userspace forwarder
 * that wraps each packet in one UDP datagram; each forwarder's config is
 * its node's forwarding table.
 */
import { udp } from './render.js';
import { backendComponent } from '../pod-network/component.js';
import { udpDaemons } from './daemon.js';

export const udpComponent = backendComponent(udp, { daemons: udpDaemons });
