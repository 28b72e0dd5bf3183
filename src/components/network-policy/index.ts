/**
 * NetworkPolicy, enforced by each node for its own pods: `up` adds the jump
 * from FORWARD (iptables mode); the agent keeps the per-pod and per-policy
 * chains (or the nftables table) in step with the plan.
 */
import { compileNode } from '../../netpol/compile.js';
import { PolicyEngine } from '../../netpol/engine.js';
import { renderNetpolBootstrap, renderNetpolIptables } from '../../netpol/iptables.js';
import { NETPOL_TABLE, renderNetpolNftables } from '../../netpol/nftables.js';
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
