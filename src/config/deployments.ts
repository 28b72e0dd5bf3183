/**
 * Deployments expand to their replicas' pods here, so every later layer sees
 * plain pods. Pod names are `<deployment>-<suffix>` as in Kubernetes, but the
 * suffix is derived from the replica's index instead of drawn at random: the
 * same file gives the same names, and scaling up keeps the existing ones.
 */
import { replicaNames, SUFFIX_LENGTH } from '../spec/replica-names.js';
import type { PodSpec } from '../spec/lab.js';

export { replicaNames, replicaSuffix } from '../spec/replica-names.js';

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
import { DEFAULTS, LIMITS } from './defaults.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { readPodSpec, type PodNetworkFields } from './podspec.js';
import { readMeta, type ObjectMeta, type WorkloadContext } from './workloads.js';

interface Requirement {
  key: string;
  operator: string;
  values: string[];
}

function satisfies(labels: Record<string, string>, req: Requirement): boolean {
  const has = Object.hasOwn(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.includes(labels[req.key]!);
    case 'NotIn':
      return !has || !req.values.includes(labels[req.key]!);
    case 'Exists':
      return has;
    default:
      return !has;
  }
}

/**
 * Checks the selector the way the API server does: it must select something
 * and the template's labels must satisfy it, or the Deployment would never
 * own the pods it makes.
 */
function checkSelector(spec: Cursor, labels: Record<string, string>, what: string, kind: string, r: Reader): void {
  const selC = spec.get('selector');
  if (!r.map(selC, `${what}: spec.selector`)) {
    if (!selC.exists) r.add('missing-field', selC.ref, `${what}: spec.selector is required, e.g. selector: {matchLabels: {app: web}}`);
    return;
  }
  const matchLabels = r.stringMap(selC.get('matchLabels'), `${what}: spec.selector.matchLabels`) ?? {};
  const requirements: Requirement[] = Object.entries(matchLabels).map(([key, v]) => ({ key, operator: 'In', values: [v] }));
  for (const e of r.list(selC.get('matchExpressions'), `${what}: spec.selector.matchExpressions`)) {
    const key = r.string(e.get('key'), `${what}: matchExpressions key`);
    const operator = r.oneOf(e.get('operator'), `${what}: matchExpressions operator`, SELECTOR_OPERATORS);
    const values = r.list(e.get('values'), `${what}: matchExpressions values`).map((v) => String(v.value));
    if (key !== undefined && operator !== undefined) requirements.push({ key, operator, values });
  }
  // A malformed expression is reported on its own; it does not also make the selector empty.
  if (requirements.length === 0 && !selC.get('matchExpressions').exists) {
    r.add('missing-field', selC.ref, `${what}: spec.selector selects nothing; an empty selector is invalid for a ${kind}, e.g. selector: {matchLabels: {app: web}}`);
    return;
  }
  const unmet = requirements.filter((q) => !satisfies(labels, q));
  if (unmet.length) {
    const shown = unmet.map((q) => (q.operator === 'In' && q.values.length === 1 ? `${q.key}=${q.values[0]}` : `${q.key} ${q.operator} ${q.values.join(',')}`.trim()));
    r.add(
      'bad-value',
      selC.ref,
      `${what}: spec.selector does not match the template's labels (${shown.join(', ')} not met); Kubernetes requires spec.template.metadata.labels to satisfy the selector`,
    );
  }
}

/** What a Deployment and a StatefulSet share: a selector, a replica count and a pod template. */
export interface ReplicatedWorkload {
  meta: ObjectMeta;
  what: string;
  replicas: number;
  labels: Record<string, string>;
  /** The template's pod spec, read and reported once, not once per replica. */
  fields: PodNetworkFields;
}

/**
 * Reads the parts of a Deployment or StatefulSet that make its pods.
 * `scaleKey` is the key under which `scale` stores a count that wins over
 * the file's `spec.replicas`, as it changes the live object and not the file.
 */
export function readReplicated(doc: Cursor, kind: 'Deployment' | 'StatefulSet', ctx: WorkloadContext, scaleKey: (m: ObjectMeta) => string): ReplicatedWorkload | undefined {
  const { r } = ctx;
  const meta = readMeta(doc, kind, ctx);
  if (!meta) return undefined;
  const what = `${kind} ${meta.namespace}/${meta.name}`;
  const spec = doc.get('spec');
  if (!r.map(spec, `${what}: spec`)) {
    if (!spec.exists) r.add('missing-field', spec.ref, `${what} needs a spec with selector and template`);
    return undefined;
  }
  const fromFile = r.integer(spec.get('replicas'), `${what}: spec.replicas`, 0, LIMITS.replicas) ?? DEFAULTS.replicas;
  const replicas = ctx.replicas?.[scaleKey(meta)] ?? fromFile;
  const template = spec.get('template');
  if (!r.map(template, `${what}: spec.template`)) {
    if (!template.exists) r.add('missing-field', template.ref, `${what} needs spec.template (metadata.labels and a pod spec)`);
    return undefined;
  }
  const tmeta = template.get('metadata');
  r.map(tmeta, `${what}: spec.template.metadata`);
  const labels = r.stringMap(tmeta.get('labels'), `${what}: spec.template.metadata.labels`) ?? {};
  checkSelector(spec, labels, what, kind, r);
  const fields = readPodSpec(template.get('spec'), what, ctx);
  return { meta, what, replicas, labels, fields };
}

/** The key of a Deployment's count in `scale`'s record: `<namespace>/<name>`. */
export const deploymentKey = (m: Pick<ObjectMeta, 'namespace' | 'name'>): string => `${m.namespace}/${m.name}`;

export function readDeployment(doc: Cursor, ctx: WorkloadContext): PodSpec[] {
  const { r } = ctx;
  const w = readReplicated(doc, 'Deployment', ctx, deploymentKey);
  if (!w) return [];
  const { meta, what, replicas, labels, fields } = w;
  const nameMax = 63 - SUFFIX_LENGTH - 1;
  if (meta.name.length > nameMax) {
    r.add(
      'bad-name',
      doc.get('metadata').get('name').ref,
      `${what}: its pod names '${meta.name}-<${SUFFIX_LENGTH} characters>' would be longer than 63 characters; shorten the Deployment name to at most ${nameMax}`,
    );
    return [];
  }
  const names = replicaNames(meta.namespace, meta.name, replicas);
  return names.map((name) => ({
    namespace: meta.namespace,
    name,
    labels: { ...labels },
    ...structuredClone(fields),
    owner: { kind: 'Deployment', name: meta.name },
    source: meta.source,
  }));
}
