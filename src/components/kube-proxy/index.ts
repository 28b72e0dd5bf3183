/**
 * kube-proxy in iptables or nftables mode: `up` adds the jumps from the
 * built-in chains (iptables mode); the agent keeps every node's service
 * rules in step with the ready endpoints.
 */
import { proxyInputs } from '../../model/endpoints.js';
import { IptablesMemo, renderIptablesBootstrap, renderIptablesSync } from './iptables.js';
import { NFT_FAMILY, NFT_TABLE, renderNftablesSync } from './nftables.js';
import type { Component } from '../contract.js';

export const kubeProxy: Component = {
  name: 'kube-proxy',
  enabled: () => true,
  netfilter: {
    chains: ['KUBE-'],
    nftTables: [`${NFT_FAMILY} ${NFT_TABLE}`],
    bootstrap: (plan) => (plan.spec.serviceNetwork.proxyMode === 'iptables' ? renderIptablesBootstrap() : ''),
    synced(plan, node, ready) {
      const input = proxyInputs(plan, ready).find((i) => i.node === node.name)!;
      return plan.spec.serviceNetwork.proxyMode === 'iptables' ? { iptables: renderIptablesSync(input, undefined, new IptablesMemo()) } : { nft: renderNftablesSync(input) };
    },
  },
};
