/**
 * How kube-proxy splits a service port's endpoints by traffic policy on one
 * node; both the iptables and the nftables renderers follow it.
 */
import type { ProxyServicePort } from '../../model/services.js';

/**
 * Which endpoints each traffic policy uses, as upstream's CategorizeEndpoints
 * does with only ready endpoints and no topology hints.
 */
export function categorize(sp: ProxyServicePort) {
  const externallyAccessible = Boolean(sp.nodePort) || sp.loadBalancerIPs.length > 0;
  const externalLocal = sp.externalPolicyLocal && externallyAccessible;
  // External Local still needs the Cluster endpoints for the pod and host short-circuits.
  const usesCluster = !sp.internalPolicyLocal || externallyAccessible;
  const usesLocal = sp.internalPolicyLocal || externalLocal;
  const cluster = usesCluster ? sp.endpoints : [];
  const local = usesLocal ? sp.endpoints.filter((e) => e.isLocal) : [];
  const hasEndpoints = sp.endpoints.length > 0;
  return {
    externallyAccessible,
    externalLocal,
    cluster,
    local,
    reachable: usesCluster ? cluster : local,
    hasEndpoints,
    hasInternal: hasEndpoints && (!sp.internalPolicyLocal || local.length > 0),
    hasExternal: hasEndpoints && (!externalLocal || local.length > 0),
  };
}
