/**
 * `v1 Service` objects, validated as the API server validates them. Every
 * field of a service spec shapes the network, so the spec is read strictly:
 * a field is implemented, refused, or (when a later version builds it)
 * reported as not yet supported; none is silently ignored.
 */
import { IPv4CidrRange } from '../util/ip-num.js';
import type { ServicePortSpec, ServiceSpec, ServiceType, TrafficPolicy } from '../spec/services.js';
import { AFFINITY_TIMEOUT_SECONDS, KUBE_DNS_SERVICE, KUBERNETES_SERVICE, NODE_PORT_RANGE } from '../spec/services.js';
import type { Protocol, SourceRef } from '../spec/lab.js';
import { offsetIn, parseIPv4 } from '../util/addresses.js';
import { PROTOCOLS } from './defaults.js';
import type { Cursor } from './documents.js';
import { describe, type Reader } from './fields.js';
import { CLUSTER_DNS_NOTICE, isClusterDnsObject } from './cluster-dns.js';
import { checkLabels, labelProblem, portNameProblem, subdomainProblem } from './names.js';
import type { Notices } from './notices.js';
import { readMeta, type WorkloadContext } from './workloads.js';

export interface ServiceContext extends WorkloadContext {
  /** spec.serviceNetwork.cidr, when the Lab document could be read. */
  serviceCIDR?: string;
}

/** A service and where its allocatable values are written, for checks across services. */
export interface ReadService {
  spec: ServiceSpec;
  clusterIPRef?: SourceRef;
  /** Aligned with `spec.ports`. */
  nodePortRefs: SourceRef[];
  healthCheckNodePortRef?: SourceRef;
}

const TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const POLICIES: readonly TrafficPolicy[] = ['Cluster', 'Local'];
const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = [
  'type',
  'clusterIP',
  'clusterIPs',
  'selector',
  'ports',
  'sessionAffinity',
  'sessionAffinityConfig',
  'externalTrafficPolicy',
  'internalTrafficPolicy',
  'healthCheckNodePort',
  'externalName',
  'ipFamilies',
  'ipFamilyPolicy',
  'publishNotReadyAddresses',
  'allocateLoadBalancerNodePorts',
  'loadBalancerIP',
  'loadBalancerSourceRanges',
];
/** Fields later versions build (external IPs, other load-balancer implementations, topology-aware routing). */
const SPEC_FIELDS_LATER = ['externalIPs', 'loadBalancerClass', 'trafficDistribution'];
const PORT_FIELDS = ['name', 'protocol', 'port', 'targetPort', 'nodePort', 'appProtocol'];

const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

/** Externally reachable, as the API server decides where externalTrafficPolicy may be set. */
function external(type: ServiceType, spec: Cursor): boolean {
  return type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && spec.get('externalIPs').isSeq && spec.get('externalIPs').items().length > 0);
}

export function readService(doc: Cursor, ctx: ServiceContext): ReadService | undefined {
  const { r, notices } = ctx;
  const meta = readMeta(doc, 'Service', ctx);
  r.strict(doc, TOP_FIELDS, 'a Service');
  if (!meta) return undefined;
  const what = `Service ${meta.namespace}/${meta.name}`;
  const spec = doc.get('spec');
  if (!r.map(spec, `${what}: spec`)) {
    if (!spec.exists) r.add('missing-field', doc.ref, `${what} needs a spec, e.g. spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}`);
    return undefined;
  }
  r.strict(spec, [...SPEC_FIELDS, ...SPEC_FIELDS_LATER], `${what}: spec`);

  const type = r.oneOf(spec.get('type'), `${what}: spec.type`, TYPES) ?? 'ClusterIP';
  for (const key of SPEC_FIELDS_LATER) if (spec.get(key).exists) notices.laterField(what, `spec.${key}`, spec.keyRef(key));
  checkIpFamilies(spec, what, r);

  const { clusterIP, clusterIPRef } = readClusterIP(spec, type, keyOf(meta), what, ctx);
  const headless = clusterIP === 'None';
  const selector = r.stringMap(spec.get('selector'), `${what}: spec.selector`);
  if (selector) checkLabels(selector, spec.get('selector'), `${what}: spec.selector`, r);

  const { ports, nodePortRefs } = readPorts(spec, type, headless, what, r, notices);

  const sessionAffinity = r.oneOf(spec.get('sessionAffinity'), `${what}: spec.sessionAffinity`, ['None', 'ClientIP'] as const) ?? 'None';
  const affinityTimeoutSeconds = readAffinityConfig(spec, sessionAffinity, what, r);

  const externalTrafficPolicy = r.oneOf(spec.get('externalTrafficPolicy'), `${what}: spec.externalTrafficPolicy`, POLICIES);
  if (externalTrafficPolicy !== undefined && !external(type, spec)) {
    r.add('bad-value', spec.keyRef('externalTrafficPolicy'), `${what}: spec.externalTrafficPolicy may only be set for externally-accessible services (type NodePort or LoadBalancer); remove it or change the type`);
  }
  const internalTrafficPolicy = r.oneOf(spec.get('internalTrafficPolicy'), `${what}: spec.internalTrafficPolicy`, POLICIES) ?? 'Cluster';

  // Upstream has a health-check port only for LoadBalancer services; the lab gives Local NodePort services one too, so the path can be probed without a cloud load balancer.
  const hcC = spec.get('healthCheckNodePort');
  const healthCheckNodePort = readNodePortNumber(hcC, `${what}: spec.healthCheckNodePort`, r);
  if (hcC.exists && !((type === 'NodePort' || type === 'LoadBalancer') && externalTrafficPolicy === 'Local')) {
    r.add('bad-value', spec.keyRef('healthCheckNodePort'), `${what}: spec.healthCheckNodePort may only be set when type is NodePort or LoadBalancer and externalTrafficPolicy is Local`);
  }
  if (healthCheckNodePort !== undefined && ports.some((p) => p.nodePort === healthCheckNodePort)) {
    r.add('duplicate', hcC.ref, `${what}: spec.healthCheckNodePort ${healthCheckNodePort} is also a nodePort of this service; health checks need a port of their own`);
  }

  const externalName = readExternalName(spec, type, what, r);
  const publishNotReadyAddresses = r.boolean(spec.get('publishNotReadyAddresses'), `${what}: spec.publishNotReadyAddresses`);
  const allocateC = spec.get('allocateLoadBalancerNodePorts');
  const allocateLoadBalancerNodePorts = r.boolean(allocateC, `${what}: spec.allocateLoadBalancerNodePorts`);
  if (allocateC.exists && type !== 'LoadBalancer') {
    r.add('bad-value', spec.keyRef('allocateLoadBalancerNodePorts'), `${what}: spec.allocateLoadBalancerNodePorts may only be used when type is LoadBalancer`);
  }

  const { loadBalancerIP, loadBalancerSourceRanges } = readLoadBalancer(spec, type, what, r);

  const out: ServiceSpec = {
    namespace: meta.namespace,
    name: meta.name,
    type,
    ...(clusterIP !== undefined ? { clusterIP } : {}),
    // The API server stores an empty selector as none: the service then has no managed endpoints.
    ...(selector && Object.keys(selector).length ? { selector } : {}),
    ports,
    sessionAffinity,
    affinityTimeoutSeconds,
    externalTrafficPolicy: externalTrafficPolicy ?? 'Cluster',
    internalTrafficPolicy,
    ...(healthCheckNodePort !== undefined ? { healthCheckNodePort } : {}),
    ...(externalName !== undefined ? { externalName } : {}),
    ...(publishNotReadyAddresses ? { publishNotReadyAddresses } : {}),
    ...(allocateLoadBalancerNodePorts === false ? { allocateLoadBalancerNodePorts } : {}),
    ...(loadBalancerIP !== undefined ? { loadBalancerIP } : {}),
    ...(loadBalancerSourceRanges !== undefined ? { loadBalancerSourceRanges } : {}),
    source: meta.source,
  };
  return { spec: out, ...(clusterIPRef ? { clusterIPRef } : {}), nodePortRefs, ...(healthCheckNodePort !== undefined ? { healthCheckNodePortRef: hcC.ref } : {}) };
}

/**
 * `loadBalancerIP` (deprecated upstream, still honoured by clouds that
 * support it) and `loadBalancerSourceRanges`: LoadBalancer services only.
 * Whether the address lies in the lab's external network is the planner's
 * check, which knows that network.
 */
function readLoadBalancer(spec: Cursor, type: ServiceType, what: string, r: Reader): { loadBalancerIP?: string; loadBalancerSourceRanges?: string[] } {
  const out: { loadBalancerIP?: string; loadBalancerSourceRanges?: string[] } = {};
  for (const key of ['loadBalancerIP', 'loadBalancerSourceRanges']) {
    if (spec.get(key).exists && type !== 'LoadBalancer') r.add('bad-value', spec.keyRef(key), `${what}: spec.${key} may only be used when type is LoadBalancer`);
  }
  const ipC = spec.get('loadBalancerIP');
  const ip = r.string(ipC, `${what}: spec.loadBalancerIP`);
  if (ip !== undefined) {
    if (parseIPv4(ip)) out.loadBalancerIP = ip;
    else r.add('bad-value', ipC.ref, `${what}: spec.loadBalancerIP '${ip}' is not an IPv4 address; pick one of spec.external.cidr of the Lab, or leave it out to get one from the pool`);
  }
  const rangesC = spec.get('loadBalancerSourceRanges');
  if (rangesC.exists) {
    const ranges: string[] = [];
    for (const item of r.list(rangesC, `${what}: spec.loadBalancerSourceRanges`)) {
      const text = r.string(item, `${what}: spec.loadBalancerSourceRanges[]`);
      if (text === undefined) continue;
      try {
        // The API server accepts host bits set (10.0.0.1/8); the network is what counts.
        const [addr, bits] = text.trim().split('/');
        const range = IPv4CidrRange.fromCidr(`${addr}/${bits ?? '32'}`);
        ranges.push(`${range.getFirst().toString()}/${bits ?? '32'}`);
      } catch {
        r.add('bad-value', item.ref, `${what}: spec.loadBalancerSourceRanges entry '${text}' is not an IPv4 CIDR such as 203.0.113.0/24`);
      }
    }
    out.loadBalancerSourceRanges = ranges;
  }
  return out;
}

/** The lab's networks are IPv4: a service that needs IPv6 cannot be built. */
function checkIpFamilies(spec: Cursor, what: string, r: Reader): void {
  for (const f of r.list(spec.get('ipFamilies'), `${what}: spec.ipFamilies`)) {
    if (f.value === 'IPv4') continue;
    const why = f.value === 'IPv6' ? '; the lab is IPv4-only' : '';
    r.add('bad-value', f.ref, `${what}: spec.ipFamilies may only list IPv4, not ${describe(f.value)}${why}`);
  }
  const policy = r.oneOf(spec.get('ipFamilyPolicy'), `${what}: spec.ipFamilyPolicy`, ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const);
  if (policy === 'RequireDualStack') {
    r.add('bad-value', spec.get('ipFamilyPolicy').ref, `${what}: spec.ipFamilyPolicy RequireDualStack needs IPv6, and the lab is IPv4-only; use SingleStack or PreferDualStack`);
  }
}

function readClusterIP(spec: Cursor, type: ServiceType, key: string, what: string, ctx: ServiceContext): { clusterIP?: string; clusterIPRef?: SourceRef } {
  const { r } = ctx;
  const ipC = spec.get('clusterIP');
  const ipsC = spec.get('clusterIPs');
  // An empty string asks for an allocated address, as in the API.
  const written = ipC.exists && ipC.value !== '' ? ipC.value : undefined;
  const list = r.list(ipsC, `${what}: spec.clusterIPs`);
  const first = list[0]?.value;
  if (list.length > 1) {
    r.add('bad-value', list[1]!.ref, `${what}: spec.clusterIPs lists ${list.length} addresses; the lab is IPv4-only, so a service has one ClusterIP`);
  }
  if (written !== undefined && first !== undefined && first !== written) {
    r.add('bad-value', list[0]!.ref, `${what}: spec.clusterIPs[0] ${describe(first)} must be the same as spec.clusterIP ${describe(written)}; write one of them only`);
    return {};
  }
  const value = written ?? (first === '' ? undefined : first);
  const ref = written !== undefined ? ipC.ref : list[0]?.ref;
  if (value === undefined || ref === undefined) return {};
  if (typeof value !== 'string') {
    r.add('bad-value', ref, `${what}: spec.clusterIP must be an IPv4 address or None, not ${describe(value)}`);
    return {};
  }
  if (type === 'ExternalName') {
    r.add('bad-value', ref, `${what}: spec.clusterIP must be empty for an ExternalName service; remove it`);
    return {};
  }
  if (value === 'None') {
    if (type !== 'ClusterIP') {
      r.add('bad-value', ref, `${what}: spec.clusterIP may not be None for a ${type} service: a headless service has no ClusterIP to reach through node ports; remove clusterIP or use type ClusterIP`);
      return {};
    }
    return { clusterIP: value, clusterIPRef: ref };
  }
  const ip = parseIPv4(value);
  const net = ctx.serviceCIDR;
  const hint = net ? ` inside spec.serviceNetwork.cidr ${net}` : '';
  if (!ip) {
    r.add('bad-value', ref, `${what}: spec.clusterIP '${value}' is not an IPv4 address; write an address${hint}, None for a headless service, or leave it out to have one allocated`);
    return {};
  }
  if (net) {
    const range = IPv4CidrRange.fromCidr(net);
    const offset = offsetIn(range, ip);
    const last = Number(range.getSize() - 1n);
    const refuse = (why: string) => r.add('bad-value', ref, `${what}: spec.clusterIP ${value} ${why}; choose another address${hint} or leave clusterIP out to have one allocated`);
    if (offset === undefined) refuse(`is outside spec.serviceNetwork.cidr ${net}`);
    else if (offset === 0 || offset === last) refuse(`is the ${offset === 0 ? 'network' : 'broadcast'} address of ${net}`);
    else if (offset === KUBERNETES_SERVICE.offset && key !== keyOf(KUBERNETES_SERVICE)) refuse(`is the address of Service ${keyOf(KUBERNETES_SERVICE)}`);
    else if (offset === KUBE_DNS_SERVICE.offset && key !== keyOf(KUBE_DNS_SERVICE)) refuse(`is reserved for Service ${keyOf(KUBE_DNS_SERVICE)} (cluster DNS)`);
    else return { clusterIP: value, clusterIPRef: ref };
    return {};
  }
  return { clusterIP: value, clusterIPRef: ref };
}

/** A node port number; 0 asks for an allocated one, as in the API. */
function readNodePortNumber(c: Cursor, where: string, r: Reader): number | undefined {
  if (c.value === 0) return undefined;
  return r.integer(c, where, NODE_PORT_RANGE.min, NODE_PORT_RANGE.max);
}

function readPorts(spec: Cursor, type: ServiceType, headless: boolean, what: string, r: Reader, notices: Notices): { ports: ServicePortSpec[]; nodePortRefs: SourceRef[] } {
  const list = spec.get('ports');
  const items = r.list(list, `${what}: spec.ports`);
  if (items.length === 0 && !headless && type !== 'ExternalName' && (list.isSeq || !list.exists)) {
    r.add('missing-field', list.exists ? list.ref : spec.at, `${what} needs at least one port in spec.ports, e.g. ports: [{port: 80, targetPort: 8080}] (only headless and ExternalName services may have none)`);
  }
  const ports: ServicePortSpec[] = [];
  const nodePortRefs: SourceRef[] = [];
  const names = new Map<string, SourceRef>();
  const seen = new Map<string, SourceRef>();
  const nodePorts = new Map<string, SourceRef>();
  for (const item of items) {
    const where = `${what}: spec.ports`;
    r.strict(item, PORT_FIELDS, `a port of ${what}`);
    if (!item.isMap) {
      // A scalar was reported by strict(); an empty entry (a bare '-') was not.
      if (!item.exists) r.add('bad-value', item.ref, `${where} entries must be mappings such as {port: 80, targetPort: 8080}`);
      continue;
    }
    const nameC = item.get('name');
    const name = r.string(nameC, `${where}[].name`);
    if (name !== undefined) {
      const problem = labelProblem(name, `${where}[].name`);
      if (problem) r.add('bad-name', nameC.ref, problem);
      const before = names.get(name);
      if (before) r.add('duplicate', nameC.ref, `${what}: port name '${name}' is used twice (first at line ${before.line}); each port needs its own name`);
      names.set(name, nameC.ref);
    } else if (items.length > 1 && !nameC.exists) {
      r.add('missing-field', item.ref, `${what} has ${items.length} ports, so each needs a name (e.g. name: http); Kubernetes requires names when a service has several ports`);
    }

    const protocolC = item.get('protocol');
    let protocol: Protocol | undefined = 'TCP';
    if (protocolC.exists) {
      protocol = PROTOCOLS.find((p) => p === protocolC.value);
      if (!protocol) {
        const sctp = protocolC.value === 'SCTP' ? ' (SCTP is not supported by the lab)' : '';
        r.add('bad-value', protocolC.ref, `${where}[].protocol must be one of ${PROTOCOLS.join(', ')}, not ${describe(protocolC.value)}${sctp}`);
      }
    }
    const portC = item.get('port');
    const present = r.required(portC, `${where}[].port`, ', e.g. {port: 80}');
    const port = r.integer(portC, `${where}[].port`, 1, 65535);
    const targetPort = readTargetPort(item.get('targetPort'), `${where}[].targetPort`, r);

    const npC = item.get('nodePort');
    const nodePort = readNodePortNumber(npC, `${where}[].nodePort`, r);
    if (npC.exists && type !== 'NodePort' && type !== 'LoadBalancer') {
      r.add('bad-value', item.keyRef('nodePort'), `${what}: nodePort may only be set when type is NodePort or LoadBalancer, not ${type}; remove it or change the type`);
    }
    // A hint for L7 tooling; kube-proxy does not read it.
    if (item.get('appProtocol').exists) notices.noEffectField('appProtocol');
    if (!present || port === undefined || protocol === undefined || targetPort === null) continue;

    const key = `${port}/${protocol}`;
    const before = seen.get(key);
    if (before) r.add('duplicate', portC.ref, `${what}: port ${key} is declared twice (first at line ${before.line})`);
    seen.set(key, portC.ref);
    if (nodePort !== undefined) {
      const npKey = `${nodePort}/${protocol}`;
      const first = nodePorts.get(npKey);
      if (first) r.add('duplicate', npC.ref, `${what}: nodePort ${npKey} is used twice (first at line ${first.line})`);
      nodePorts.set(npKey, npC.ref);
    }
    ports.push({
      ...(name !== undefined ? { name } : {}),
      protocol,
      port,
      targetPort: targetPort ?? port,
      ...(nodePort !== undefined ? { nodePort } : {}),
    });
    nodePortRefs.push(npC.ref);
  }
  return { ports, nodePortRefs };
}

/** A number, or the name of a container port (IANA_SVC_NAME); undefined for the default, null when invalid. */
function readTargetPort(c: Cursor, where: string, r: Reader): number | string | undefined | null {
  if (!c.exists) return undefined;
  const v = c.value;
  if (typeof v === 'string') {
    const problem = portNameProblem(v, where);
    if (!problem) return v;
    r.add('bad-name', c.ref, /^\d+$/.test(v) ? `${where} "${v}" is a quoted number, which Kubernetes reads as a port name; write it unquoted: ${v}` : problem);
    return null;
  }
  return r.integer(c, where, 1, 65535) ?? null;
}

function readAffinityConfig(spec: Cursor, affinity: 'None' | 'ClientIP', what: string, r: Reader): number {
  const config = spec.get('sessionAffinityConfig');
  if (!config.exists) return AFFINITY_TIMEOUT_SECONDS.default;
  r.strict(config, ['clientIP'], `${what}: spec.sessionAffinityConfig`);
  r.strict(config.get('clientIP'), ['timeoutSeconds'], `${what}: spec.sessionAffinityConfig.clientIP`);
  const timeout = r.integer(config.get('clientIP').get('timeoutSeconds'), `${what}: spec.sessionAffinityConfig.clientIP.timeoutSeconds`, 1, AFFINITY_TIMEOUT_SECONDS.max);
  if (affinity !== 'ClientIP') {
    r.add('bad-value', spec.keyRef('sessionAffinityConfig'), `${what}: spec.sessionAffinityConfig must not be set when sessionAffinity is None; add sessionAffinity: ClientIP or remove it`);
  }
  return timeout ?? AFFINITY_TIMEOUT_SECONDS.default;
}

function readExternalName(spec: Cursor, type: ServiceType, what: string, r: Reader): string | undefined {
  const c = spec.get('externalName');
  if (type !== 'ExternalName') {
    if (c.exists) r.add('bad-value', spec.keyRef('externalName'), `${what}: spec.externalName applies only to type ExternalName; remove it or set type: ExternalName`);
    return undefined;
  }
  if (!r.required(c, `${what}: spec.externalName`, ', the DNS name the service stands for, e.g. externalName: db.example.com')) return undefined;
  const name = r.string(c, `${what}: spec.externalName`);
  if (name === undefined) return undefined;
  // A trailing dot (fully qualified) is accepted, as the API server does.
  const problem = subdomainProblem(name.replace(/\.$/, ''), `${what}: spec.externalName`);
  if (problem) r.add('bad-name', c.ref, problem);
  return name;
}

/**
 * Checks across services: names unique per namespace, asked-for ClusterIPs
 * unique, and node ports owned by one service each (whatever the protocol,
 * as the API server's allocator; one service may use a port for both TCP
 * and UDP).
 */
export function checkServices(services: ReadService[], r: Reader): void {
  const names = new Map<string, SourceRef>();
  const ips = new Map<string, { key: string; ref: SourceRef }>();
  const nodePorts = new Map<number, { key: string; ref: SourceRef }>();
  for (const s of services) {
    const key = keyOf(s.spec);
    const before = names.get(key);
    if (before) r.add('duplicate', s.spec.source, `Service ${key} is declared twice (first at ${before.file}:${before.line})`);
    names.set(key, s.spec.source);

    const ip = s.spec.clusterIP;
    if (ip !== undefined && ip !== 'None' && s.clusterIPRef) {
      const other = ips.get(ip);
      if (other && other.key !== key) {
        r.add('duplicate', s.clusterIPRef, `Service ${key}: clusterIP ${ip} is already taken by Service ${other.key} (at ${other.ref.file}:${other.ref.line}); each service needs its own address`);
      } else ips.set(ip, { key, ref: s.clusterIPRef });
    }

    const claims: { port: number; ref: SourceRef; what: string }[] = s.spec.ports.flatMap((p, i) => (p.nodePort !== undefined ? [{ port: p.nodePort, ref: s.nodePortRefs[i]!, what: 'nodePort' }] : []));
    if (s.spec.healthCheckNodePort !== undefined && s.healthCheckNodePortRef) claims.push({ port: s.spec.healthCheckNodePort, ref: s.healthCheckNodePortRef, what: 'healthCheckNodePort' });
    for (const c of claims) {
      const other = nodePorts.get(c.port);
      if (other && other.key !== key) {
        r.add('duplicate', c.ref, `Service ${key}: ${c.what} ${c.port} is already used by Service ${other.key} (at ${other.ref.file}:${other.ref.line}); node ports are shared by every node, so each belongs to one service`);
      } else if (!other) nodePorts.set(c.port, { key, ref: c.ref });
    }
  }
}

/** A Service the lab makes itself: a declaration of it is checked, then left out with a notice. */
export function isBuiltInService(s: ServiceSpec): boolean {
  return keyOf(s) === keyOf(KUBERNETES_SERVICE) || isClusterDnsObject('Service', s.namespace, s.name);
}

export function builtInNotice(s: ServiceSpec, notices: Notices): void {
  if (isClusterDnsObject('Service', s.namespace, s.name)) return notices.about(`Service ${keyOf(s)}`, s.source, CLUSTER_DNS_NOTICE);
  notices.about(
    `Service ${keyOf(s)}`,
    s.source,
    `the lab makes this service itself (ClusterIP at the first address of the service network, port https 443 to the API server stand-in on the first node); this declaration is not used`,
  );
}
