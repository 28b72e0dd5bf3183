/**
 * The `Lab` document (kube-netlab.dev/v1alpha1): strict, since a typo in it
 * would silently change the network. Defaults follow the design brief and
 * upstream (kubeadm's service CIDR, flannel's pod CIDR and ports).
 */
import type { BackendName, ExternalServerSpec, LabSpec, NodeSpec, ProxyMode, SourceRef } from '../model/types.js';
import { count24, offsetOf, parseCidr, parseIp, prefixOf } from './cidrs.js';
import type { Reader } from './fields.js';
import { LAB_NAME_MAX, labelProblem, subdomainProblem } from './names.js';
import type { Cursor } from './source.js';

export const LAB_API_VERSION = 'kube-netlab.dev/v1alpha1';
export const BACKEND_NAMES: readonly BackendName[] = ['host-gw', 'cloud-routes', 'vxlan', 'udp'];
export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'nftables'];

/** Defaults of the Lab document, as documented in the README. */
export const DEFAULTS = {
  nodes: ['node1', 'node2', 'node3'],
  nodeNetwork: '192.168.56.0/24',
  mtu: 1500,
  podNetwork: { cidr: '10.244.0.0/16', backend: 'vxlan' as BackendName, vxlan: { port: 8472, vni: 1 }, udp: { port: 8285 } },
  serviceNetwork: { cidr: '10.96.0.0/12', proxyMode: 'iptables' as ProxyMode },
  clusterDomain: 'cluster.local',
  external: { cidr: '203.0.113.0/24' },
  /** Addresses .1-.9 of the external CIDR belong to the lab's own routers and load balancer. */
  externalReserved: 9,
  maxNodes: 50,
  /** Nodes take node-network addresses from .11. */
  firstNodeOffset: 11,
} as const;

export type LabSettings = Omit<LabSpec, 'namespaces' | 'pods' | 'notices' | 'files'>;

export function readLab(doc: Cursor, r: Reader, nameOverride?: string): LabSettings {
  r.strict(doc, ['apiVersion', 'kind', 'metadata', 'spec'], 'the Lab document');
  const meta = doc.get('metadata');
  r.strict(meta, ['name', 'labels', 'annotations'], 'Lab metadata');
  const name = nameOverride ?? r.string(meta.get('name'), 'metadata.name') ?? '';
  const nameProblem = labelProblem(name, nameOverride ? '--name' : 'the lab name (metadata.name)', LAB_NAME_MAX);
  if (nameProblem) r.problems.push({ code: 'bad-name', source: nameOverride ? undefined : meta.get('name').ref, message: nameProblem });

  const spec = doc.get('spec');
  r.strict(spec, ['nodes', 'nodeNetwork', 'mtu', 'podNetwork', 'serviceNetwork', 'clusterDomain', 'external'], 'Lab spec');

  const nodes = readNodes(spec.get('nodes'), r, doc.ref);
  const nodeNetwork = r.string(spec.get('nodeNetwork'), 'spec.nodeNetwork', DEFAULTS.nodeNetwork)!;
  const mtu = r.integer(spec.get('mtu'), 'spec.mtu', 1280, 9000, DEFAULTS.mtu)!;

  const pn = spec.get('podNetwork');
  r.strict(pn, ['cidr', 'backend', 'vxlan', 'udp'], 'spec.podNetwork');
  r.strict(pn.get('vxlan'), ['port', 'vni'], 'spec.podNetwork.vxlan');
  r.strict(pn.get('udp'), ['port'], 'spec.podNetwork.udp');
  const podNetwork = {
    cidr: r.string(pn.get('cidr'), 'spec.podNetwork.cidr', DEFAULTS.podNetwork.cidr)!,
    backend: r.oneOf(pn.get('backend'), 'spec.podNetwork.backend', BACKEND_NAMES, DEFAULTS.podNetwork.backend),
    vxlan: {
      port: r.integer(pn.get('vxlan').get('port'), 'spec.podNetwork.vxlan.port', 1, 65535, DEFAULTS.podNetwork.vxlan.port)!,
      vni: r.integer(pn.get('vxlan').get('vni'), 'spec.podNetwork.vxlan.vni', 1, 16777215, DEFAULTS.podNetwork.vxlan.vni)!,
    },
    udp: { port: r.integer(pn.get('udp').get('port'), 'spec.podNetwork.udp.port', 1, 65535, DEFAULTS.podNetwork.udp.port)! },
  };

  const sn = spec.get('serviceNetwork');
  r.strict(sn, ['cidr', 'proxyMode'], 'spec.serviceNetwork');
  const serviceNetwork = {
    cidr: r.string(sn.get('cidr'), 'spec.serviceNetwork.cidr', DEFAULTS.serviceNetwork.cidr)!,
    proxyMode: r.oneOf(sn.get('proxyMode'), 'spec.serviceNetwork.proxyMode', PROXY_MODES, DEFAULTS.serviceNetwork.proxyMode),
  };

  const clusterDomain = r.string(spec.get('clusterDomain'), 'spec.clusterDomain', DEFAULTS.clusterDomain)!;
  const domainProblem = subdomainProblem(clusterDomain, 'spec.clusterDomain');
  if (domainProblem) r.problems.push({ code: 'bad-name', source: spec.get('clusterDomain').ref, message: domainProblem });

  const ext = spec.get('external');
  r.strict(ext, ['cidr', 'servers'], 'spec.external');
  const externalCidr = r.string(ext.get('cidr'), 'spec.external.cidr', DEFAULTS.external.cidr)!;

  const settings: LabSettings = {
    name,
    source: doc.ref,
    nodes,
    nodeNetwork,
    mtu,
    podNetwork,
    serviceNetwork,
    clusterDomain,
    external: { cidr: externalCidr, servers: [] },
  };
  checkNetworks(settings, spec, r);
  settings.external.servers = readServers(ext.get('servers'), externalCidr, r);
  return settings;
}

function readNodes(list: Cursor, r: Reader, labRef: SourceRef): NodeSpec[] {
  if (!list.exists) {
    return DEFAULTS.nodes.map((name) => ({ name, labels: { 'kubernetes.io/hostname': name }, source: labRef }));
  }
  const nodes: NodeSpec[] = [];
  const seen = new Map<string, SourceRef>();
  const items = r.list(list, 'spec.nodes');
  if (list.isSeq && (items.length === 0 || items.length > DEFAULTS.maxNodes)) {
    r.problems.push({ code: 'capacity', source: list.ref, message: `spec.nodes must list 1 to ${DEFAULTS.maxNodes} nodes, not ${items.length}` });
  }
  for (const item of items) {
    r.strict(item, ['name', 'labels'], 'a spec.nodes entry');
    const name = r.string(item.get('name'), 'spec.nodes[].name');
    if (name === undefined) continue;
    const problem = labelProblem(name, 'node name');
    if (problem) r.problems.push({ code: 'bad-name', source: item.get('name').ref, message: problem });
    const before = seen.get(name);
    if (before) r.problems.push({ code: 'duplicate', source: item.get('name').ref, message: `node '${name}' is declared twice (first at line ${before.line})` });
    seen.set(name, item.get('name').ref);
    nodes.push({ name, labels: { ...r.stringMap(item.get('labels'), `labels of node ${name}`), 'kubernetes.io/hostname': name }, source: item.ref });
  }
  return nodes;
}

/** CIDRs parse, do not overlap, and are large enough for the nodes. */
function checkNetworks(s: LabSettings, spec: Cursor, r: Reader): void {
  const entries = [
    { field: 'spec.nodeNetwork', text: s.nodeNetwork, ref: spec.get('nodeNetwork').exists ? spec.get('nodeNetwork').ref : spec.ref },
    { field: 'spec.podNetwork.cidr', text: s.podNetwork.cidr, ref: spec.get('podNetwork').get('cidr').exists ? spec.get('podNetwork').get('cidr').ref : spec.ref },
    { field: 'spec.serviceNetwork.cidr', text: s.serviceNetwork.cidr, ref: spec.get('serviceNetwork').get('cidr').exists ? spec.get('serviceNetwork').get('cidr').ref : spec.ref },
    { field: 'spec.external.cidr', text: s.external.cidr, ref: spec.get('external').get('cidr').exists ? spec.get('external').get('cidr').ref : spec.ref },
  ].map((e) => ({ ...e, ...parseCidr(e.text) }));
  for (const e of entries) if (e.problem) r.problems.push({ code: 'bad-value', source: e.ref, message: `${e.field}: ${e.problem}` });
  const parsed = entries.filter((e) => e.range);
  for (let i = 0; i < parsed.length; i++) {
    for (let j = i + 1; j < parsed.length; j++) {
      const a = parsed[i]!;
      const b = parsed[j]!;
      if (a.range!.isOverlapping(b.range!)) {
        const [first, second] = a.ref.line <= b.ref.line ? [a, b] : [b, a];
        r.problems.push({
          code: 'cidr-overlap',
          source: second.ref,
          message: `${second.field} ${second.text} overlaps ${first.field} ${first.text} (line ${first.ref.line}); every network of the lab needs its own range`,
        });
      }
    }
  }
  const [node, pod, svc] = entries;
  if (node?.range) {
    const hosts = Number(node.range.getSize()) - 2;
    if (prefixOf(node.range) > 30 || hosts < DEFAULTS.firstNodeOffset - 1 + s.nodes.length) {
      r.problems.push({ code: 'capacity', source: node.ref, message: `spec.nodeNetwork ${s.nodeNetwork} has no room for ${s.nodes.length} nodes from .${DEFAULTS.firstNodeOffset}; use a larger network such as /24` });
    }
  }
  if (pod?.range && count24(pod.range) < s.nodes.length) {
    r.problems.push({
      code: 'capacity',
      source: pod.ref,
      message: `spec.podNetwork.cidr ${s.podNetwork.cidr} holds ${count24(pod.range)} /24 subnet(s) but there are ${s.nodes.length} nodes, one /24 each; use a larger range such as 10.244.0.0/16`,
    });
  }
  if (svc?.range && prefixOf(svc.range) > 28) {
    r.problems.push({ code: 'capacity', source: svc.ref, message: `spec.serviceNetwork.cidr ${s.serviceNetwork.cidr} is too small (the DNS service takes its 10th address); use /28 or larger` });
  }
}

function readServers(list: Cursor, externalCidr: string, r: Reader): ExternalServerSpec[] {
  const { range } = parseCidr(externalCidr);
  const servers: ExternalServerSpec[] = [];
  for (const item of r.list(list, 'spec.external.servers')) {
    r.strict(item, ['name', 'address', 'ports'], 'a spec.external.servers entry');
    const name = r.string(item.get('name'), 'spec.external.servers[].name');
    const problem = subdomainProblem(name, 'external server name');
    if (name !== undefined && problem) r.problems.push({ code: 'bad-name', source: item.get('name').ref, message: problem });
    const address = r.string(item.get('address'), 'spec.external.servers[].address');
    const ip = parseIp(address);
    if (address !== undefined) {
      const offset = ip && range ? offsetOf(range, ip) : undefined;
      if (!ip || (range && (offset === undefined || offset <= DEFAULTS.externalReserved || offset === Number(range.getSize()) - 1))) {
        r.problems.push({
          code: 'bad-value',
          source: item.get('address').ref,
          message: `external server address '${address}' must be an IPv4 address inside spec.external.cidr ${externalCidr}, above .${DEFAULTS.externalReserved} (the lab keeps .1-.${DEFAULTS.externalReserved})`,
        });
      }
    }
    const ports: number[] = [];
    if (item.get('ports').exists) {
      for (const p of r.list(item.get('ports'), 'spec.external.servers[].ports')) {
        const port = r.integer(p, 'an external server port', 1, 65535);
        if (port !== undefined) ports.push(port);
      }
    } else ports.push(80);
    if (name && address) servers.push({ name, address, ports });
  }
  return servers;
}
