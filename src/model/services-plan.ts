/**
 * Service allocations: ClusterIPs from the service CIDR and node ports from
 * 30000-32767, as the API server's allocators hand them out, except that the
 * choice is deterministic (lowest free) instead of random, so the same file
 * gives the same addresses. Asked-for values are honoured; a service that the
 * previous plan already has keeps what it was given, so `up` and `apply`
 * never renumber a running service, as a real cluster never does.
 */
import { ConfigError, type ConfigProblem } from '../util/errors.js';
import { IPv4, Validator } from '../util/ip-num.js';
import { cidr, nthAddress } from '../util/addresses.js';
import { allocateLoadBalancerIPs } from './load-balancers.js';
import { KUBE_DNS_SERVICE, KUBERNETES_SERVICE, NODE_PORT_RANGE, AFFINITY_TIMEOUT_SECONDS } from '../spec/services.js';
import type { ServicePlan, ServicePortPlan } from './services.js';
import type { ServiceSpec } from '../spec/services.js';
import type { NodePlan, Plan } from './types.js';
import type { LabSpec } from '../spec/lab.js';

/** Offsets below this are kept for services kubeadm places at fixed addresses (.1 kubernetes, .10 kube-dns). */
export const FIRST_DYNAMIC_OFFSET = 11;

const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;
const portKey = (p: { port: number; protocol: string }) => `${p.port}/${p.protocol}`;

function needsNodePorts(s: ServiceSpec): boolean {
  return s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);
}

/** Upstream allocates one for LoadBalancer only; Local NodePort services get one here too, to be probed without a cloud load balancer. */
function needsHealthCheck(s: ServiceSpec): boolean {
  return (s.type === 'NodePort' || s.type === 'LoadBalancer') && s.externalTrafficPolicy === 'Local';
}

/** The API server stand-in's service, at the first address, served on the first node (kubeadm's host-network apiserver). */
function kubernetesService(spec: LabSpec, nodes: NodePlan[]): ServicePlan {
  const k = KUBERNETES_SERVICE;
  const first = nodes[0];
  return {
    namespace: k.namespace,
    name: k.name,
    key: keyOf(k),
    type: 'ClusterIP',
    clusterIP: nthAddress(cidr(spec.serviceNetwork.cidr), k.offset),
    ports: [{ name: k.portName, protocol: 'TCP', port: k.port, targetPort: k.targetPort }],
    sessionAffinity: 'None',
    affinityTimeoutSeconds: AFFINITY_TIMEOUT_SECONDS.default,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    staticEndpoints: first ? [{ ip: first.ip, port: k.targetPort, nodeName: first.name }] : [],
  };
}

/** One pool of numbers (address offsets or ports), each owned by at most one service. */
class Pool {
  private readonly owners = new Map<number, string>();
  /** Nothing is ever given back, so the search for the next free number resumes where the last one ended. */
  private readonly searched = new Map<number, number>();

  owner(n: number): string | undefined {
    return this.owners.get(n);
  }

  take(n: number, owner: string): void {
    this.owners.set(n, owner);
  }

  /** The lowest free number from `from` to `to`, taken for `owner`; undefined when none is left. */
  next(from: number, to: number, owner: string): number | undefined {
    for (let n = this.searched.get(from) ?? from; n <= to; n++) {
      if (!this.owners.has(n)) {
        this.owners.set(n, owner);
        this.searched.set(from, n + 1);
        return n;
      }
    }
    this.searched.set(from, to + 1);
    return undefined;
  }
}

export function planServices(spec: LabSpec, nodes: NodePlan[], previous?: Plan): ServicePlan[] {
  const problems: ConfigProblem[] = [];
  // Stored plans written before services existed have none.
  const before = new Map((previous?.services ?? []).map((s) => [s.key, s]));
  const services = spec.services.filter((s) => keyOf(s) !== keyOf(KUBERNETES_SERVICE));
  const clusterIPs = allocateClusterIPs(spec, services, before, problems);
  const nodePorts = allocateNodePorts(services, before, problems);
  const lbIPs = allocateLoadBalancerIPs(
    { externalCidr: spec.external.cidr, taken: spec.external.servers.map((x) => x.address), services, before: new Map([...before].map(([k, v]) => [k, v.loadBalancerIP])) },
    problems,
  );
  if (problems.length) throw new ConfigError(problems);

  const planned = services.map((s): ServicePlan => {
    const key = keyOf(s);
    const ports = s.ports.map((p, i): ServicePortPlan => {
      const nodePort = nodePorts.ports.get(key)?.[i];
      return { ...(p.name !== undefined ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.targetPort, ...(nodePort !== undefined ? { nodePort } : {}) };
    });
    const clusterIP = clusterIPs.get(key);
    const hc = nodePorts.healthChecks.get(key);
    return {
      namespace: s.namespace,
      name: s.name,
      key,
      type: s.type,
      ...(clusterIP !== undefined ? { clusterIP } : {}),
      ...(s.selector ? { selector: s.selector } : {}),
      ports,
      sessionAffinity: s.sessionAffinity,
      affinityTimeoutSeconds: s.affinityTimeoutSeconds,
      externalTrafficPolicy: s.externalTrafficPolicy,
      internalTrafficPolicy: s.internalTrafficPolicy,
      ...(hc !== undefined ? { healthCheckNodePort: hc } : {}),
      ...(s.externalName !== undefined ? { externalName: s.externalName } : {}),
      ...(s.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
      ...(lbIPs.has(key) ? { loadBalancerIP: lbIPs.get(key)! } : {}),
      ...(s.type === 'LoadBalancer' && s.loadBalancerSourceRanges?.length ? { loadBalancerSourceRanges: s.loadBalancerSourceRanges } : {}),
    };
  });
  // Code-point order: locale collation ignores '-' and would differ between machines.
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [kubernetesService(spec, nodes), ...planned].sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

/** Service key → ClusterIP (or `None`); ExternalName services get none. */
function allocateClusterIPs(spec: LabSpec, services: ServiceSpec[], before: Map<string, ServicePlan>, problems: ConfigProblem[]): Map<string, string> {
  const net = spec.serviceNetwork.cidr;
  const range = cidr(net);
  const last = Number(range.getSize()) - 1;
  // Range bounds are derived once: ip-num recomputes them on every call, which shows at thousands of services.
  const base = range.getFirst().getValue();
  const address = (offset: number) => IPv4.fromNumber(base + BigInt(offset)).toString();
  const offsetOf = (ip: string): number | undefined => {
    if (!Validator.isValidIPv4String(ip)[0]) return undefined;
    const n = Number(IPv4.fromString(ip).getValue() - base);
    return n >= 0 && n <= last ? n : undefined;
  };
  const dns = keyOf(KUBE_DNS_SERVICE);
  const pool = new Pool();
  pool.take(KUBERNETES_SERVICE.offset, keyOf(KUBERNETES_SERVICE));
  const out = new Map<string, string>();
  const auto = services.filter((s) => s.type !== 'ExternalName' && s.clusterIP === undefined);

  // What the running lab already gave each service, so an asked-for address can be checked against it.
  const kept = new Map<number, string>();
  for (const s of auto) {
    const old = before.get(keyOf(s))?.clusterIP;
    const offset = old === undefined || old === 'None' ? undefined : offsetOf(old);
    if (offset === undefined || offset < FIRST_DYNAMIC_OFFSET || offset >= last || kept.has(offset)) continue;
    kept.set(offset, keyOf(s));
  }

  const refuse = (s: ServiceSpec, why: string, code: ConfigProblem['code'] = 'bad-value') =>
    problems.push({ code, source: s.source, message: `Service ${keyOf(s)}: clusterIP ${s.clusterIP} ${why}; choose another address in ${net} or leave clusterIP out to have one allocated` });
  for (const s of services) {
    const key = keyOf(s);
    if (s.type === 'ExternalName' || s.clusterIP === undefined) continue;
    if (s.clusterIP === 'None') {
      out.set(key, 'None');
      continue;
    }
    const offset = offsetOf(s.clusterIP);
    const holder = offset === undefined ? undefined : (pool.owner(offset) ?? kept.get(offset));
    if (offset === undefined) refuse(s, `is outside spec.serviceNetwork.cidr ${net}`);
    else if (offset === 0 || offset === last) refuse(s, `is the ${offset === 0 ? 'network' : 'broadcast'} address of ${net}`);
    else if (offset === KUBE_DNS_SERVICE.offset && key !== dns) refuse(s, `is reserved for Service ${dns} (cluster DNS)`);
    else if (holder !== undefined && holder !== key) {
      refuse(s, `is already allocated to Service ${holder}${kept.get(offset) === holder ? ' of the running lab' : ''}`, 'duplicate');
    } else {
      pool.take(offset, key);
      out.set(key, s.clusterIP);
    }
  }

  // kube-dns sits at the 10th address, as kubeadm puts it; nothing else is ever given that address.
  if (auto.some((s) => keyOf(s) === dns)) out.set(dns, address(KUBE_DNS_SERVICE.offset));
  pool.take(KUBE_DNS_SERVICE.offset, dns);
  for (const [offset, key] of kept) {
    if (pool.owner(offset) !== undefined || out.has(key)) continue;
    pool.take(offset, key);
    out.set(key, address(offset));
  }
  for (const s of auto) {
    const key = keyOf(s);
    if (out.has(key)) continue;
    const offset = pool.next(FIRST_DYNAMIC_OFFSET, last - 1, key);
    if (offset === undefined) {
      problems.push({
        code: 'capacity',
        source: s.source,
        message: `Service ${key}: spec.serviceNetwork.cidr ${net} has no free ClusterIP left; use a larger service network such as 10.96.0.0/12`,
      });
      continue;
    }
    out.set(key, address(offset));
  }
  return out;
}

interface NodePortAllocation {
  /** Service key → node port of each of its ports, aligned with `ports` (undefined where it has none). */
  ports: Map<string, (number | undefined)[]>;
  healthChecks: Map<string, number>;
}

/**
 * One pool for every node port and health-check port of the lab, whatever
 * the protocol, as the API server's allocator: a node port belongs to one
 * service (which may use it for both TCP and UDP of the same port).
 */
function allocateNodePorts(services: ServiceSpec[], before: Map<string, ServicePlan>, problems: ConfigProblem[]): NodePortAllocation {
  const { min, max } = NODE_PORT_RANGE;
  const inRange = (n: number | undefined): n is number => n !== undefined && n >= min && n <= max;
  const pool = new Pool();
  const out: NodePortAllocation = { ports: new Map(), healthChecks: new Map() };

  // What the running lab gave each port (matched by port and protocol, as `kubectl apply` merges ports) and health check.
  const keptPorts = new Map<string, (number | undefined)[]>();
  const keptHc = new Map<string, number>();
  const keptOwner = new Map<number, string>();
  for (const s of services) {
    const key = keyOf(s);
    const old = before.get(key);
    if (!old) continue;
    const oldPorts = new Map(old.ports.map((p) => [portKey(p), p.nodePort]));
    if (needsNodePorts(s)) {
      const ports = s.ports.map((p) => {
        const n = p.nodePort === undefined ? oldPorts.get(portKey(p)) : undefined;
        if (!inRange(n) || (keptOwner.has(n) && keptOwner.get(n) !== key)) return undefined;
        keptOwner.set(n, key);
        return n;
      });
      keptPorts.set(key, ports);
    }
    const hc = old.healthCheckNodePort;
    if (needsHealthCheck(s) && s.healthCheckNodePort === undefined && inRange(hc) && !keptOwner.has(hc)) {
      keptOwner.set(hc, key);
      keptHc.set(key, hc);
    }
  }

  const ask = (s: ServiceSpec, n: number, what: string): boolean => {
    const key = keyOf(s);
    const holder = keptOwner.get(n) ?? pool.owner(n);
    if (holder !== undefined && holder !== key) {
      const running = keptOwner.get(n) === holder ? ' of the running lab' : '';
      problems.push({
        code: 'duplicate',
        source: s.source,
        message: `Service ${key}: ${what} ${n} is already allocated to Service ${holder}${running}; choose another port from ${min}-${max} or leave it out to have one allocated`,
      });
      return false;
    }
    pool.take(n, key);
    return true;
  };
  for (const s of services) {
    const key = keyOf(s);
    if (s.type !== 'NodePort' && s.type !== 'LoadBalancer') continue;
    out.ports.set(
      key,
      s.ports.map((p) => (p.nodePort !== undefined && ask(s, p.nodePort, 'nodePort') ? p.nodePort : undefined)),
    );
    if (s.healthCheckNodePort !== undefined && needsHealthCheck(s) && ask(s, s.healthCheckNodePort, 'healthCheckNodePort')) {
      out.healthChecks.set(key, s.healthCheckNodePort);
    }
  }

  for (const s of services) {
    const key = keyOf(s);
    const kept = keptPorts.get(key) ?? [];
    const ports = out.ports.get(key);
    if (!ports) continue;
    ports.forEach((n, i) => {
      const k = kept[i];
      // The same service may hold one node port for TCP and UDP of the same port.
      if (n === undefined && k !== undefined && (pool.owner(k) ?? key) === key) {
        pool.take(k, key);
        ports[i] = k;
      }
    });
    const hc = keptHc.get(key);
    if (hc !== undefined && pool.owner(hc) === undefined) {
      pool.take(hc, key);
      out.healthChecks.set(key, hc);
    }
  }

  for (const s of services) {
    const key = keyOf(s);
    const ports = out.ports.get(key);
    if (!ports) continue;
    const wanted = [...(needsNodePorts(s) ? s.ports.map((_, i) => i).filter((i) => ports[i] === undefined) : []), ...(needsHealthCheck(s) && !out.healthChecks.has(key) ? ['hc' as const] : [])];
    for (const slot of wanted) {
      const n = pool.next(min, max, key);
      if (n === undefined) {
        problems.push({
          code: 'capacity',
          source: s.source,
          message: `Service ${key}: no free node port left in ${min}-${max}; every port of the range is allocated, so make some services type ClusterIP`,
        });
        break;
      }
      if (slot === 'hc') out.healthChecks.set(key, n);
      else ports[slot] = n;
    }
  }
  return out;
}
