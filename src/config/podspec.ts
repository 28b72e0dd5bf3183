/**
 * A pod spec, of a Pod or of a Deployment's template. Unknown fields are fine
 * here (real manifests carry many): the network-shaping ones are read or
 * reported as not yet supported, the rest are summarised as having no effect.
 */
import type { ContainerPortSpec, ContainerSpec, PodSpec, Protocol, SourceRef } from '../spec/lab.js';
import { DEFAULTS, PROTOCOLS } from './defaults.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { checkLabels, labelProblem, portNameProblem } from './names.js';
import type { Notices } from './notices.js';
import { readPodDns } from './pod-dns.js';
import { readReadinessProbe } from './probes.js';

/** Read by this version. */
const POD_FIELDS = ['containers', 'nodeName', 'nodeSelector', 'hostname', 'subdomain', 'dnsPolicy', 'dnsConfig', 'hostNetwork'];
/**
 * livenessProbe and startupProbe are not among them: nothing here restarts a
 * container, so they are summarised with the fields that have no effect.
 */
const CONTAINER_FIELDS = ['name', 'ports', 'readinessProbe'];
const PORT_FIELDS = ['name', 'containerPort', 'protocol', 'hostPort'];
/** They change addresses, names, DNS or placement, so they come with later versions rather than being ignored. */
const POD_FIELDS_LATER = [
  'setHostnameAsFQDN',
  'hostAliases',
  'affinity',
  'topologySpreadConstraints',
];
/** portmap can bind a host port to one node address; the lab maps every address of the node. */
const PORT_FIELDS_LATER = ['hostIP'];

export interface PodContext {
  r: Reader;
  notices: Notices;
  /** The lab's node names; undefined when the Lab document is missing or unreadable. */
  nodes?: string[];
}

export type PodNetworkFields = Pick<PodSpec, 'containers' | 'nodeName' | 'nodeSelector' | 'hostname' | 'subdomain' | 'dnsPolicy' | 'dnsConfig' | 'hostNetwork'>;

/** Reads `spec` of the object described by `what` (e.g. "Pod shop/cache"). */
export function readPodSpec(spec: Cursor, what: string, ctx: PodContext): PodNetworkFields {
  const { r } = ctx;
  if (!r.map(spec, `${what}: spec`)) {
    if (!spec.exists) r.add('missing-field', spec.ref, `${what} needs spec.containers with at least one container`);
    return { containers: [], dnsPolicy: 'ClusterFirst' };
  }
  for (const key of spec.keys()) {
    if (POD_FIELDS.includes(key)) continue;
    if (POD_FIELDS_LATER.includes(key)) ctx.notices.laterField(what, key, spec.keyRef(key));
    else ctx.notices.noEffectField(key);
  }

  const containers = readContainers(spec, what, ctx);
  const out: PodNetworkFields = { containers, ...readPodDns(spec, what, r) };
  const hostNetwork = r.boolean(spec.get('hostNetwork'), `${what}: spec.hostNetwork`);
  if (hostNetwork) {
    out.hostNetwork = true;
    // The API server's rule: in the node's namespace a host port is the container port itself.
    for (const c of containers) {
      for (const p of c.ports) {
        if (p.hostPort !== undefined && p.hostPort !== p.containerPort) {
          r.add('bad-value', spec.keyRef('hostNetwork'), `${what} container ${c.name}: hostPort ${p.hostPort} must equal containerPort ${p.containerPort} when hostNetwork is true (the container listens on the node itself)`);
        }
      }
    }
  }

  const nodeNameC = spec.get('nodeName');
  const nodeName = r.string(nodeNameC, `${what}: spec.nodeName`);
  if (nodeName !== undefined) {
    out.nodeName = nodeName;
    if (ctx.nodes && !ctx.nodes.includes(nodeName)) {
      r.add('unknown-node', nodeNameC.ref, `${what}: spec.nodeName '${nodeName}' is not a node of the lab; nodes: ${ctx.nodes.join(', ')}`);
    }
  }
  const nodeSelector = r.stringMap(spec.get('nodeSelector'), `${what}: spec.nodeSelector`);
  if (nodeSelector) {
    checkLabels(nodeSelector, spec.get('nodeSelector'), `${what}: spec.nodeSelector`, r);
    out.nodeSelector = nodeSelector;
  }
  return out;
}

function readContainers(spec: Cursor, what: string, ctx: PodContext): ContainerSpec[] {
  const { r } = ctx;
  const list = spec.get('containers');
  const items = r.list(list, `${what}: spec.containers`);
  if (items.length === 0 && (list.isSeq || !list.exists)) {
    r.add('missing-field', list.ref, `${what} needs at least one container in spec.containers, e.g. containers: [{name: web, ports: [{containerPort: 8080}]}]`);
  }
  const containers: ContainerSpec[] = [];
  const names = new Map<string, SourceRef>();
  // Containers of a pod share its network namespace, so a port is the pod's, not the container's.
  const ports = new Map<string, { container: string; source: SourceRef }>();
  for (const c of items) {
    const read = readContainer(c, what, ctx);
    if (!read) continue;
    const { container, portRefs } = read;
    const before = names.get(container.name);
    if (before) r.add('duplicate', c.get('name').ref, `${what}: container '${container.name}' is declared twice (first at line ${before.line})`);
    names.set(container.name, c.get('name').ref);
    container.ports.forEach((p, i) => {
      const key = `${p.containerPort}/${p.protocol}`;
      const source = portRefs[i]!;
      const other = ports.get(key);
      if (other) {
        const by = other.container === container.name ? `twice by container '${container.name}'` : `by containers '${other.container}' and '${container.name}'`;
        r.add(
          'duplicate',
          source,
          `${what}: port ${key} is declared ${by} (first at line ${other.source.line}); the containers of a pod share one network namespace, so only one can listen on it`,
        );
      } else ports.set(key, { container: container.name, source });
    });
    containers.push(container);
  }
  return containers;
}

/** A container and, aligned with its ports, where each port is written. */
function readContainer(c: Cursor, what: string, ctx: PodContext): { container: ContainerSpec; portRefs: SourceRef[] } | undefined {
  const { r } = ctx;
  if (!r.map(c, `${what}: a container`)) return undefined;
  if (!r.required(c.get('name'), `${what}: container name`)) return undefined;
  const name = r.string(c.get('name'), `${what}: container name`);
  if (name === undefined) return undefined;
  const problem = labelProblem(name, `${what}: container name`);
  if (problem) r.add('bad-name', c.get('name').ref, problem);
  for (const key of c.keys()) if (!CONTAINER_FIELDS.includes(key)) ctx.notices.noEffectField(key);
  const ports: ContainerPortSpec[] = [];
  const portRefs: SourceRef[] = [];
  const portNames = new Map<string, SourceRef>();
  for (const p of r.list(c.get('ports'), `${what} container ${name}: ports`)) {
    const port = readPort(p, `${what} container ${name}`, ctx);
    if (!port) continue;
    if (port.name !== undefined) {
      const before = portNames.get(port.name);
      if (before) r.add('duplicate', p.get('name').ref, `${what} container ${name}: port name '${port.name}' is used twice (first at line ${before.line})`);
      portNames.set(port.name, p.get('name').ref);
    }
    ports.push(port);
    portRefs.push(p.ref);
  }
  const { probe, portRef } = readReadinessProbe(c.get('readinessProbe'), `${what} container ${name}`, r, ctx.notices);
  const probePort = probe?.handler.port;
  if (typeof probePort === 'string' && !ports.some((p) => p.name === probePort)) {
    const named = ports.filter((p) => p.name !== undefined).map((p) => p.name);
    r.add(
      'bad-value',
      portRef,
      `${what} container ${name}: readinessProbe port '${probePort}' names no port of this container (${named.length ? `its named ports: ${named.join(', ')}` : 'it has no named ports'}); name a containerPort '${probePort}' or give the probe a number`,
    );
  }
  return { container: { name, ports, ...(probe ? { readinessProbe: probe } : {}) }, portRefs };
}

function readPort(p: Cursor, what: string, ctx: PodContext): ContainerPortSpec | undefined {
  const { r } = ctx;
  if (!r.map(p, `${what}: a port`)) return undefined;
  for (const key of p.keys()) {
    if (PORT_FIELDS_LATER.includes(key)) ctx.notices.laterField(what, key, p.keyRef(key));
    else if (!PORT_FIELDS.includes(key)) ctx.notices.noEffectField(key);
  }
  const present = r.required(p.get('containerPort'), `${what}: containerPort`, ', e.g. {containerPort: 8080}');
  const containerPort = r.integer(p.get('containerPort'), `${what}: containerPort`, 1, 65535);
  const protocolC = p.get('protocol');
  const protocol = protocolC.exists && !PROTOCOLS.includes(protocolC.value as Protocol) ? undefined : ((protocolC.value as Protocol | undefined) ?? DEFAULTS.protocol);
  if (protocol === undefined) {
    const sctp = protocolC.value === 'SCTP' ? ' (SCTP is not supported by the lab)' : '';
    r.add('bad-value', protocolC.ref, `${what}: protocol must be one of ${PROTOCOLS.join(', ')}, not ${JSON.stringify(protocolC.value)}${sctp}`);
  }
  const name = r.string(p.get('name'), `${what}: port name`);
  const nameProblem = name === undefined ? undefined : portNameProblem(name, `${what}: port name`);
  if (nameProblem) r.add('bad-name', p.get('name').ref, nameProblem);
  const hostPort = r.integer(p.get('hostPort'), `${what}: hostPort`, 1, 65535);
  if (!present || containerPort === undefined || protocol === undefined) return undefined;
  return { containerPort, protocol, ...(name !== undefined ? { name } : {}), ...(hostPort !== undefined ? { hostPort } : {}) };
}
