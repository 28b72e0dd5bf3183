/**
 * NetworkPolicy, enforced by each node for its own pods: `up` adds the jump
 * from FORWARD (iptables mode); the agent keeps the per-pod and per-policy
 * chains (or the nftables table) in step with the plan.
 */
import { compileNode } from './compile.js';
import { PolicyEngine } from './engine.js';
import { renderNetpolBootstrap, renderNetpolIptables } from './iptables.js';
import { NETPOL_TABLE, renderNetpolNftables } from './nftables.js';
import type { Component } from '../contract.js';

export const networkPolicy: Component = {
  name: 'network-policy',
  enabled: () => true,
  netfilter: {
    chains: ['NETPOL-'],
    nftTables: [`inet ${NETPOL_TABLE}`],
    bootstrap: (plan) => (plan.spec.serviceNetwork.proxyMode === 'iptables' ? renderNetpolBootstrap() : ''),
    synced(plan, node) {
      const rules = compileNode(PolicyEngine.fromPlan(plan), node);
      return plan.spec.serviceNetwork.proxyMode === 'iptables' ? { iptables: renderNetpolIptables(rules).text } : { nft: renderNetpolNftables(rules) };
    },
  },
};
