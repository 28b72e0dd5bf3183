/**
 * What a lab DNS server answers from. The agent writes one such snapshot
 * per server as JSON (atomically, by rename) whenever the lab changes, and
 * the server reloads it without restarting; the server never reads the
 * plan itself. Two servers use it:
 *  - the cluster DNS (`kube-system/coredns-*` pods behind `kube-dns`):
 *    `cluster` set, names outside the zone forwarded to `upstream`;
 *  - the resolver on the lab's internet side: only `hosts`, no upstream,
 *    NXDOMAIN for every other name (it stands in for the public DNS).
 */

export type DnsProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface DnsPort {
  /** The port's name; unnamed ports have '' and get no SRV record. */
  name: string;
  protocol: DnsProtocol;
  port: number;
}

/** One address of an endpoint of a service (an Endpoints `addresses[]` entry). */
export interface DnsEndpoint {
  ip: string;
  /**
   * The endpoint's `hostname`: the pod's `hostname` when its `subdomain` is
   * this service's name (StatefulSet pods: the pod name). Absent otherwise;
   * then the server names the endpoint by its dashed IP (`10-244-1-5`).
   */
  hostname?: string;
  /** The endpoint's ports: target ports, with the service port names. */
  ports: DnsPort[];
}

export interface DnsService {
  namespace: string;
  name: string;
  kind: 'ClusterIP' | 'Headless' | 'ExternalName';
  /** ClusterIP services (every type with a ClusterIP: ClusterIP, NodePort, LoadBalancer). */
  clusterIP?: string;
  /** ExternalName services: the CNAME target, without the trailing dot. */
  externalName?: string;
  /** The service's ports (`port`, not `targetPort`). */
  ports: DnsPort[];
  /**
   * Ready endpoints (all endpoints when the service has
   * `publishNotReadyAddresses`), sorted by IP. Empty for ExternalName and
   * for services without a selector.
   */
  endpoints: DnsEndpoint[];
}

export interface ClusterZone {
  /** The cluster domain without a trailing dot, e.g. `cluster.local`. */
  domain: string;
  /** Every namespace of the lab: `<ns>.svc.<domain>` exists (NODATA, not NXDOMAIN) even with no service in it. */
  namespaces: string[];
  services: DnsService[];
  /**
   * Reverse zones served from this data (`in-addr.arpa` names inside these
   * CIDRs): the service CIDR and the pod CIDR. PTR queries outside them,
   * or for addresses inside with no record, fall through to `upstream`
   * (CoreDNS `fallthrough in-addr.arpa ip6.arpa`).
   */
  reverseCidrs: string[];
  /** The DNS schema version answered at `dns-version.<domain>` TXT: "1.1.0". */
  schemaVersion: string;
}

/** A name with fixed addresses (external servers; later, ingress hosts). */
export interface DnsHost {
  /** Lower case, no trailing dot. */
  name: string;
  addresses: string[];
}

export interface DnsServerData {
  /** TTL of every answer, and the SOA minimum (negative caching). */
  ttl: number;
  /** Changes with each snapshot; the SOA serial. */
  serial: number;
  cluster?: ClusterZone;
  hosts: DnsHost[];
  /**
   * Resolvers (`ip` or `ip:port`) that get every query this server is not
   * authoritative for. Empty: such names are NXDOMAIN at once.
   */
  upstream: string[];
}
