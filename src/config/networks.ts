/**
 * The address plan of a Lab document: node, pod, service and external
 * networks. Each must parse, be large enough for what the lab puts in it,
 * and stay clear of the others.
 */
import type { BackendName, ExternalServerSpec, LabSpec, ProxyMode, SourceRef } from '../spec/lab.js';
import { overlapProblems, parseCidr, type NamedRange } from './cidrs.js';
import { nthAddress, offsetIn, parseIPv4, prefixLength, subnetCount } from '../util/addresses.js';
import { BACKEND_NAMES, DEFAULTS, LIMITS, PROXY_MODES } from './defaults.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { subdomainProblem } from './names.js';

export type Networks = Pick<LabSpec, 'nodeNetwork' | 'podNetwork' | 'serviceNetwork' | 'external'>;

/** Reads a CIDR field; an invalid one is reported and left out of later checks. */
function cidrField(c: Cursor, field: string, fallback: string, r: Reader): { text: string; named?: NamedRange } {
  if (!c.exists) return { text: fallback, named: { field, text: fallback, range: parseCidr(fallback).range! } };
  const parsed = parseCidr(c.value);
  if (parsed.problem !== undefined) {
    r.add('bad-value', c.ref, `${field}: ${parsed.problem}`);
    return { text: fallback };
  }
  const text = c.value as string;
  return { text, named: { field, text, range: parsed.range, source: c.ref } };
}

function tooSmall(n: NamedRange | undefined, maxPrefix: number, why: string, r: Reader, at: SourceRef): void {
  if (n && prefixLength(n.range) > maxPrefix) {
    r.add('capacity', n.source ?? at, `${n.field} ${n.text} is too small: ${why}; use /${maxPrefix} or larger`);
  }
}

export function readNetworks(spec: Cursor, nodeCount: number, r: Reader): Networks {
  const at = spec.ref;

  const node = cidrField(spec.get('nodeNetwork'), 'spec.nodeNetwork', DEFAULTS.nodeNetwork, r);
  // Nodes sit at .11 onwards and the last address is the broadcast address.
  const needed = BigInt(LIMITS.firstNodeOffset + nodeCount + 1);
  if (node.named && node.named.range.getSize() < needed) {
    r.add(
      'capacity',
      node.named.source ?? at,
      `spec.nodeNetwork ${node.text} has no room for ${nodeCount} nodes: the router is .${LIMITS.routerOffset} and nodes start at .${LIMITS.firstNodeOffset}, so it needs ${needed} addresses; use a /24 such as ${DEFAULTS.nodeNetwork}`,
    );
  }

  const pn = spec.get('podNetwork');
  r.strict(pn, ['cidr', 'backend', 'vxlan', 'udp'], 'spec.podNetwork');
  r.strict(pn.get('vxlan'), ['port', 'vni'], 'spec.podNetwork.vxlan');
  r.strict(pn.get('udp'), ['port'], 'spec.podNetwork.udp');
  const pod = cidrField(pn.get('cidr'), 'spec.podNetwork.cidr', DEFAULTS.podNetwork.cidr, r);
  if (pod.named && prefixLength(pod.named.range) > LIMITS.podSubnetPrefix) {
    tooSmall(pod.named, LIMITS.podSubnetPrefix, `every node takes one /${LIMITS.podSubnetPrefix} of it`, r, at);
  } else if (pod.named && subnetCount(pod.named.range, LIMITS.podSubnetPrefix) < BigInt(nodeCount)) {
    r.add(
      'capacity',
      pod.named.source ?? at,
      `spec.podNetwork.cidr ${pod.text} holds ${subnetCount(pod.named.range, LIMITS.podSubnetPrefix)} /${LIMITS.podSubnetPrefix} subnets but the lab has ${nodeCount} nodes, one /${LIMITS.podSubnetPrefix} each; use a larger range such as ${DEFAULTS.podNetwork.cidr}`,
    );
  }
  const vx = pn.get('vxlan');
  const podNetwork = {
    cidr: pod.text,
    backend: r.oneOf<BackendName>(pn.get('backend'), 'spec.podNetwork.backend', BACKEND_NAMES) ?? DEFAULTS.podNetwork.backend,
    vxlan: {
      port: r.integer(vx.get('port'), 'spec.podNetwork.vxlan.port', 1, 65535) ?? DEFAULTS.podNetwork.vxlan.port,
      vni: r.integer(vx.get('vni'), 'spec.podNetwork.vxlan.vni', LIMITS.vni.min, LIMITS.vni.max) ?? DEFAULTS.podNetwork.vxlan.vni,
    },
    udp: { port: r.integer(pn.get('udp').get('port'), 'spec.podNetwork.udp.port', 1, 65535) ?? DEFAULTS.podNetwork.udp.port },
  };

  const sn = spec.get('serviceNetwork');
  r.strict(sn, ['cidr', 'proxyMode'], 'spec.serviceNetwork');
  const svc = cidrField(sn.get('cidr'), 'spec.serviceNetwork.cidr', DEFAULTS.serviceNetwork.cidr, r);
  tooSmall(svc.named, LIMITS.serviceNetworkPrefix, 'the cluster DNS service takes its 10th address', r, at);
  const serviceNetwork = {
    cidr: svc.text,
    proxyMode: r.oneOf<ProxyMode>(sn.get('proxyMode'), 'spec.serviceNetwork.proxyMode', PROXY_MODES) ?? DEFAULTS.serviceNetwork.proxyMode,
  };

  const ext = spec.get('external');
  r.strict(ext, ['cidr', 'servers'], 'spec.external');
  const external = cidrField(ext.get('cidr'), 'spec.external.cidr', DEFAULTS.external.cidr, r);
  tooSmall(external.named, LIMITS.externalNetworkPrefix, `the lab keeps .1-.${LIMITS.externalReserved} for its routers and load balancer`, r, at);

  const named = [node.named, pod.named, svc.named, external.named].filter((n): n is NamedRange => n !== undefined);
  for (const p of overlapProblems(named, at)) r.problems.push(p);

  return {
    nodeNetwork: node.text,
    podNetwork,
    serviceNetwork,
    external: { cidr: external.text, servers: readServers(ext.get('servers'), external.named, r) },
  };
}

/** External hosts on the internet side, each with a fixed address and the ports it serves. */
function readServers(list: Cursor, network: NamedRange | undefined, r: Reader): ExternalServerSpec[] {
  const servers: ExternalServerSpec[] = [];
  const names = new Map<string, SourceRef>();
  const addresses = new Map<string, SourceRef>();
  for (const item of r.list(list, 'spec.external.servers')) {
    r.strict(item, ['name', 'address', 'ports'], 'a spec.external.servers entry');
    if (!item.isMap) continue;
    const nameC = item.get('name');
    const addressC = item.get('address');
    r.required(nameC, 'spec.external.servers[].name', ', e.g. name: legacy.example.net');
    r.required(addressC, 'spec.external.servers[].address');
    const name = r.string(nameC, 'spec.external.servers[].name');
    const nameProblem = name === undefined ? undefined : subdomainProblem(name, 'external server name');
    if (nameProblem) r.add('bad-name', nameC.ref, nameProblem);
    if (name !== undefined && names.has(name)) {
      r.add('duplicate', nameC.ref, `external server '${name}' is declared twice (first at line ${names.get(name)!.line})`);
    }
    if (name !== undefined) names.set(name, nameC.ref);

    const address = r.string(addressC, 'spec.external.servers[].address');
    if (address !== undefined) checkServerAddress(address, addressC.ref, network, r);
    if (address !== undefined && addresses.has(address)) {
      r.add('duplicate', addressC.ref, `address ${address} is already taken by another external server (line ${addresses.get(address)!.line})`);
    }
    if (address !== undefined) addresses.set(address, addressC.ref);

    const ports: number[] = [];
    const portsC = item.get('ports');
    for (const p of portsC.exists ? r.list(portsC, `external server ${name ?? ''} ports`) : []) {
      const port = r.integer(p, `external server ${name ?? ''} port`, 1, 65535);
      if (port !== undefined && ports.includes(port)) r.add('duplicate', p.ref, `external server ${name ?? ''} lists port ${port} twice`);
      else if (port !== undefined) ports.push(port);
    }
    if (name !== undefined && address !== undefined) {
      servers.push({ name, address, ports: portsC.exists ? ports : [...DEFAULTS.external.serverPorts] });
    }
  }
  return servers;
}

function checkServerAddress(address: string, at: SourceRef, network: NamedRange | undefined, r: Reader): void {
  const ip = parseIPv4(address);
  if (!ip) {
    r.add('bad-value', at, `external server address '${address}' is not an IPv4 address such as 203.0.113.50`);
    return;
  }
  // Without a valid external network there is nothing to place the address in; that network's own problem says why.
  if (!network) return;
  const offset = offsetIn(network.range, ip);
  const last = Number(network.range.getSize() - 1n);
  const first = nthAddress(network.range, Math.min(LIMITS.externalReserved + 1, last));
  if (offset === undefined) {
    r.add('bad-value', at, `external server address ${address} is outside spec.external.cidr ${network.text}; pick one from ${first} up`);
  } else if (offset <= LIMITS.externalReserved || offset === last) {
    const why = offset === 0 ? 'the network address' : offset === last ? 'the broadcast address' : `reserved by the lab (.1-.${LIMITS.externalReserved})`;
    r.add('bad-value', at, `external server address ${address} is ${why}; pick one from ${first} up`);
  }
}
