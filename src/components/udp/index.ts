/**
 * flannel's udp backend: a TUN device per node and a userspace forwarder
 * that wraps each packet in one UDP datagram; each forwarder's config is
 * its node's forwarding table.
 */
import { daemonsFor } from '../../model/daemons.js';
import { udp } from './render.js';
import { backendComponent } from '../pod-network/component.js';
import { forwardingConfig } from './forward.js';

export const udpComponent = backendComponent(udp, {
  daemons: (plan) => daemonsFor(plan).map((spec, i) => ({ ...spec, config: forwardingConfig(plan, plan.nodes[i]!.name) })),
});
