/**
 * Names of kube-proxy's per-service objects in nftables mode. nftables has
 * no 28-character limit, so names stay readable: a prefix, a short hash of
 * the readable part (so two long names never collide once truncated, and
 * names differing in one digit still look different), then the readable part
 * itself. Same inputs, same names as upstream.
 */
import type { ProxyEndpoint, ProxyServicePort } from '../../model/services.js';
import { nftHash } from './hash.js';

/** The kernel's limit on object names (NFT_NAME_MAXLEN, counting the final NUL). */
const NFT_NAME_MAX = 256;
/** Room kept for the longest prefix (`endpoint-`, `affinity-`, ...), as upstream does. */
const PREFIX_MAX = 16;
const BASE_MAX = NFT_NAME_MAX - PREFIX_MAX;

/**
 * Names already computed, by their readable part. Every sync names every
 * service port and endpoint again, and hashing is most of a render's cost;
 * names are pure, so a caller may keep them. The caller owns it (the proxy
 * controller keeps one across syncs), so two controllers, or two tests,
 * never see each other's names. Without one, every name is hashed anew.
 */
export type NameMemo = Map<string, string>;
/** Past any lab's size: endpoint churn cannot grow a memo kept for the agent's lifetime without bound. */
const MEMO_MAX = 200_000;

function hashAndTruncate(name: string, memo: NameMemo | undefined): string {
  let base = memo?.get(name);
  if (base === undefined) {
    const full = `${nftHash(name)}-${name}`;
    base = full.length > BASE_MAX ? `${full.slice(0, BASE_MAX - 3)}...` : full;
    if (memo) {
      if (memo.size >= MEMO_MAX) memo.clear();
      memo.set(name, base);
    }
  }
  return base;
}

type PortId = Pick<ProxyServicePort, 'namespace' | 'service' | 'protocol' | 'portName'>;
type EndpointId = Pick<ProxyEndpoint, 'ip' | 'port'>;

/**
 * `<H8>-<ns>/<svc>/<proto>/<portName>`. Upstream uses the port's name here,
 * so an unnamed port leaves the last part empty (`ns/svc/tcp/`); Kubernetes
 * only allows one unnamed port per service, so that stays unique.
 */
export function servicePortChainBase(sp: PortId, memo?: NameMemo): string {
  return hashAndTruncate(`${sp.namespace}/${sp.service}/${sp.protocol.toLowerCase()}/${sp.portName}`, memo);
}

/** `<H8>-<ns>/<svc>/<proto>/<portName>__<ip>/<port>`; `:` is not allowed in names, so IPv6 colons become dots. */
export function endpointChainBase(sp: PortId, ep: EndpointId, memo?: NameMemo): string {
  const ip = ep.ip.replaceAll(':', '.');
  return hashAndTruncate(`${sp.namespace}/${sp.service}/${sp.protocol.toLowerCase()}/${sp.portName}__${ip}/${ep.port}`, memo);
}

export interface ServicePortChains {
  /** Endpoints for the Cluster traffic policy. */
  service: string;
  /** Only this node's endpoints, for a Local traffic policy. */
  local: string;
  /** Entry for NodePort and load-balancer traffic. */
  external: string;
  /** loadBalancerSourceRanges filtering. */
  firewall: string;
}

export function servicePortChains(sp: PortId, memo?: NameMemo): ServicePortChains {
  const base = servicePortChainBase(sp, memo);
  return { service: `service-${base}`, local: `local-${base}`, external: `external-${base}`, firewall: `firewall-${base}` };
}

export function endpointChainName(sp: PortId, ep: EndpointId, memo?: NameMemo): string {
  return `endpoint-${endpointChainBase(sp, ep, memo)}`;
}

/** The set of client IPs that stick to this endpoint (ClientIP session affinity). */
export function affinitySetName(sp: PortId, ep: EndpointId, memo?: NameMemo): string {
  return `affinity-${endpointChainBase(sp, ep, memo)}`;
}
