/** flannel's --ip-masq: pod traffic leaving the pod network is masqueraded to the node's address. */
import { renderIpMasq } from './render.js';
import type { Component } from '../contract.js';

export const ipMasq: Component = {
  name: 'ip-masq',
  enabled: () => true,
  netfilter: { chains: ['FLANNEL-'], bootstrap: renderIpMasq },
};
