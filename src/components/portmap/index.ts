/** hostPort, as the CNI portmap plugin: DNAT on the pod's node, masquerade for hairpin and localhost. */
import { renderPortmap } from './render.js';
import type { Component } from '../contract.js';

export const portmap: Component = {
  name: 'portmap',
  enabled: () => true,
  netfilter: { chains: ['CNI-'], bootstrap: (plan, node) => renderPortmap(plan, node, { jumps: true }) },
};
