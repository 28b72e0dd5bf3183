/**
 * The `Lab` document (kube-netlab.dev/v1alpha1). Unlike Kubernetes manifests
 * it is strict: a misspelt field would otherwise silently leave a default in
 * place and build a different network than the one the user wrote.
 */
import type { LabSpec, NodeSpec, SourceRef } from '../spec/lab.js';
import { DEFAULTS, LAB_API_VERSION, LIMITS } from './defaults.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { checkLabels, labelProblem, subdomainProblem } from './names.js';
import { readNetworks } from './networks.js';

export type LabSettings = Omit<LabSpec, 'namespaces' | 'namespaceLabels' | 'pods' | 'services' | 'deployments' | 'statefulSets' | 'ingresses' | 'ingressClasses' | 'tlsSecrets' | 'networkPolicies' | 'reachabilityTests' | 'notices' | 'files'>;

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const METADATA_FIELDS = ['name', 'labels', 'annotations'];
const SPEC_FIELDS = ['nodes', 'nodeNetwork', 'mtu', 'podNetwork', 'serviceNetwork', 'clusterDomain', 'external', 'nodeMonitorGracePeriodSeconds'];
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** Shown when no Lab document is found: the least a lab file needs. */
export const MINIMAL_LAB = `apiVersion: ${LAB_API_VERSION}\nkind: Lab\nmetadata:\n  name: demo`;

export function readLab(doc: Cursor, r: Reader, nameOverride?: string): LabSettings {
  r.strict(doc, TOP_FIELDS, 'the Lab document');
  const meta = doc.get('metadata');
  r.strict(meta, METADATA_FIELDS, 'Lab metadata');
  const name = readName(meta, r, nameOverride);

  const spec = doc.get('spec');
  r.strict(spec, SPEC_FIELDS, 'Lab spec');
  const nodes = readNodes(spec.get('nodes'), r, doc.ref);
  const mtu = r.integer(spec.get('mtu'), 'spec.mtu', LIMITS.mtu.min, LIMITS.mtu.max) ?? DEFAULTS.mtu;

  const domainC = spec.get('clusterDomain');
  const clusterDomain = r.string(domainC, 'spec.clusterDomain') ?? DEFAULTS.clusterDomain;
  const domainProblem = subdomainProblem(clusterDomain, 'spec.clusterDomain');
  if (domainProblem) r.add('bad-name', domainC.ref, domainProblem);

  const nodeMonitorGracePeriodSeconds =
    r.integer(spec.get('nodeMonitorGracePeriodSeconds'), 'spec.nodeMonitorGracePeriodSeconds', LIMITS.nodeMonitorGracePeriodSeconds.min, LIMITS.nodeMonitorGracePeriodSeconds.max) ??
    DEFAULTS.nodeMonitorGracePeriodSeconds;

  return { name, source: doc.ref, nodes, mtu, clusterDomain, nodeMonitorGracePeriodSeconds, ...readNetworks(spec, nodes.length, r) };
}

/** The name in the file, or the override; the file's own name is checked either way so the file stays valid alone. */
function readName(meta: Cursor, r: Reader, override: string | undefined): string {
  const nameC = meta.get('name');
  const written = r.string(nameC, 'metadata.name');
  if (written !== undefined) {
    const problem = labelProblem(written, 'the lab name (metadata.name)', LIMITS.labName);
    if (problem) r.add('bad-name', nameC.ref, `${problem}; it prefixes every network namespace of the lab`);
  }
  if (override !== undefined) {
    const problem = labelProblem(override, 'the lab name given by --name', LIMITS.labName);
    if (problem) r.add('bad-name', undefined, problem);
    return override;
  }
  if (!nameC.exists) r.add('missing-field', nameC.ref, 'the Lab document needs metadata.name, e.g.\nmetadata:\n  name: demo');
  return written ?? '';
}

function readNodes(list: Cursor, r: Reader, labRef: SourceRef): NodeSpec[] {
  if (!list.exists) {
    return DEFAULTS.nodes.map((name) => ({ name, labels: { [HOSTNAME_LABEL]: name }, source: labRef }));
  }
  const items = r.list(list, 'spec.nodes');
  if (list.isSeq && (items.length < LIMITS.nodes.min || items.length > LIMITS.nodes.max)) {
    r.add('capacity', list.ref, `spec.nodes lists ${items.length} nodes; a lab has ${LIMITS.nodes.min} to ${LIMITS.nodes.max}`);
  }
  const nodes: NodeSpec[] = [];
  const seen = new Map<string, SourceRef>();
  for (const item of items) {
    if (!item.isMap) {
      r.add('bad-value', item.ref, `a spec.nodes entry must be a mapping such as {name: node1, labels: {zone: a}}, not ${JSON.stringify(item.value)}`);
      continue;
    }
    r.strict(item, ['name', 'labels'], 'a spec.nodes entry');
    const nameC = item.get('name');
    if (!r.required(nameC, 'spec.nodes[].name', ', e.g. {name: node1}')) continue;
    const name = r.string(nameC, 'spec.nodes[].name');
    if (name === undefined) continue;
    const problem = labelProblem(name, 'node name');
    if (problem) r.add('bad-name', nameC.ref, problem);
    const before = seen.get(name);
    if (before) r.add('duplicate', nameC.ref, `node '${name}' is declared twice (first at line ${before.line})`);
    seen.set(name, nameC.ref);
    const labels = r.stringMap(item.get('labels'), `labels of node ${name}`) ?? {};
    checkLabels(labels, item.get('labels'), `node ${name}`, r);
    if (labels[HOSTNAME_LABEL] !== undefined && labels[HOSTNAME_LABEL] !== name) {
      r.add('bad-value', item.get('labels').keyRef(HOSTNAME_LABEL), `node ${name}: label ${HOSTNAME_LABEL} is always the node's name; remove it`);
    }
    nodes.push({ name, labels: { ...labels, [HOSTNAME_LABEL]: name }, source: item.ref });
  }
  return nodes;
}
