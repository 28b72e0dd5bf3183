/**
 * The load balancer's forwarding as one nftables table, replaced whole on
 * every change (one `nft -f` transaction, so a packet sees the old rules or
 * the new, never half). Per load-balancer IP and port: a random pick among
 * the healthy nodes, DNAT to that node's node port; no source NAT, so the
 * node sees the client's address. `loadBalancerSourceRanges` is a filter
 * ahead of the DNAT. When no node is healthy the load balancer fails open
 * to every node, as cloud load balancers do.
 */
import type { LoadBalancerConfig, LoadBalancerSet } from './config.js';

export const LB_TABLE = 'kube-netlab-lb';

/** Nodes a service's traffic goes to: the healthy ones, or all of them when none is. */
export function targetsOf(set: LoadBalancerSet, lb: LoadBalancerConfig, healthy: (node: string) => boolean): string[] {
  const up = set.nodes.filter((n) => healthy(n.name)).map((n) => n.name);
  return up.length ? up : set.nodes.map((n) => n.name);
}

const proto = (p: string) => p.toLowerCase();
// Unquoted, as nft 1.0 wants chain names (letters first; `/`, `-`, `.` allowed after).
const chainOf = (lb: LoadBalancerConfig, protocol: string, port: number) => `lb-${lb.service}/${proto(protocol)}/${port}`;

/** The whole table; `targets` gives the nodes of each service (see targetsOf). */
export function renderLoadBalancerRules(set: LoadBalancerSet, targets: (lb: LoadBalancerConfig) => string[]): string {
  const ipOf = new Map(set.nodes.map((n) => [n.name, n.ip]));
  const out: string[] = [
    // Creating first makes the delete valid on the first run; both are in the same transaction.
    `add table ip ${LB_TABLE}`,
    `delete table ip ${LB_TABLE}`,
    `table ip ${LB_TABLE} {`,
  ];
  const firewall: string[] = [];
  const dispatch: string[] = [];
  const chains: string[] = [];
  for (const lb of set.balancers) {
    const nodes = targets(lb).filter((n) => ipOf.has(n));
    for (const p of lb.ports) {
      const chain = chainOf(lb, p.protocol, p.port);
      if (lb.sourceRanges.length) {
        firewall.push(`\t\tip daddr ${lb.ip} ${proto(p.protocol)} dport ${p.port} ip saddr != { ${lb.sourceRanges.join(', ')} } counter drop comment "${lb.service} loadBalancerSourceRanges"`);
      }
      dispatch.push(`${lb.ip} . ${proto(p.protocol)} . ${p.port} : goto ${chain}`);
      const picks = nodes.map((n, i) => `${i} : goto ${chain}/${n}`).join(', ');
      chains.push(`\tchain ${chain} {`, `\t\tnumgen random mod ${nodes.length} vmap { ${picks} }`, '\t}');
      for (const n of nodes) {
        chains.push(`\tchain ${chain}/${n} {`, `\t\tmeta l4proto ${proto(p.protocol)} counter dnat to ${ipOf.get(n)}:${p.nodePort}`, '\t}');
      }
    }
  }
  out.push('\tchain firewall {', '\t\ttype filter hook prerouting priority dstnat - 10; policy accept;', ...firewall, '\t}');
  out.push('\tchain prerouting {', '\t\ttype nat hook prerouting priority dstnat; policy accept;');
  if (dispatch.length) out.push(`\t\tip daddr . meta l4proto . th dport vmap { ${dispatch.join(', ')} }`);
  out.push('\t}', ...chains, '}');
  return `${out.join('\n')}\n`;
}
