/** Object metadata, Namespace and Pod documents. */
import type { PodSpec, SourceRef } from '../spec/lab.js';
import { DEFAULTS } from './defaults.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { checkLabels, labelProblem } from './names.js';
import { readPodSpec, type PodContext } from './podspec.js';

export interface WorkloadContext extends PodContext {
  /** Namespaces that exist: `default` and every Namespace document. */
  namespaces: ReadonlySet<string>;
  /** Replica counts that win over the file's (`scale`), by `<namespace>/<deployment>`. */
  replicas?: Readonly<Record<string, number>>;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** The document. */
  source: SourceRef;
}

/** How a kind's names are checked: DNS-1123 labels for most, subdomains for Ingresses and Secrets. */
export type NameRule = (name: string, what: string) => string | undefined;

/** `metadata.name`, required and valid by `rule` (a DNS-1123 label unless said otherwise). */
function readName(doc: Cursor, kind: string, r: Reader, rule: NameRule = labelProblem): { name: string; ref: SourceRef } | undefined {
  const meta = doc.get('metadata');
  if (!r.map(meta, `${kind} metadata`)) {
    if (!meta.exists) r.add('missing-field', doc.ref, `${kind} needs metadata.name`);
    return undefined;
  }
  const nameC = meta.get('name');
  if (!r.required(nameC, `${kind} metadata.name`)) return undefined;
  const name = r.string(nameC, `${kind} metadata.name`);
  if (name === undefined) return undefined;
  const problem = rule(name, `${kind} name`);
  if (problem) r.add('bad-name', nameC.ref, problem);
  return { name, ref: nameC.ref };
}

/** The label the API server sets on every namespace to its name; NetworkPolicies select namespaces by it. */
const NAME_LABEL = 'kubernetes.io/metadata.name';

export function readNamespace(doc: Cursor, r: Reader): { name: string; labels: Record<string, string>; source: SourceRef } | undefined {
  const read = readName(doc, 'Namespace', r);
  if (!read) return undefined;
  const labelsC = doc.get('metadata').get('labels');
  const what = `Namespace ${read.name}: metadata.labels`;
  const labels = r.stringMap(labelsC, what) ?? {};
  checkLabels(labels, labelsC, what, r);
  if (Object.hasOwn(labels, NAME_LABEL) && labels[NAME_LABEL] !== read.name) {
    r.add('bad-value', labelsC.keyRef(NAME_LABEL), `${what}: ${NAME_LABEL} is set by the API server to the namespace's own name ('${read.name}'); remove it or write '${read.name}'`);
  }
  delete labels[NAME_LABEL];
  return { name: read.name, labels, source: doc.ref };
}

/** Metadata of a namespaced workload, whose namespace must exist. */
export function readMeta(doc: Cursor, kind: string, ctx: WorkloadContext, rule?: NameRule): ObjectMeta | undefined {
  const { r } = ctx;
  const read = readName(doc, kind, r, rule);
  if (!read) return undefined;
  const meta = doc.get('metadata');
  const nsC = meta.get('namespace');
  const namespace = r.string(nsC, `${kind} ${read.name}: metadata.namespace`) ?? DEFAULTS.namespace;
  const what = `${kind} ${namespace}/${read.name}`;
  const nsProblem = labelProblem(namespace, `${kind} ${read.name}: namespace`);
  if (nsProblem) r.add('bad-name', nsC.ref, nsProblem);
  else if (!ctx.namespaces.has(namespace)) {
    r.add(
      'bad-value',
      nsC.ref,
      `${what} is in namespace '${namespace}', which no Namespace document declares; add one:\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}`,
    );
  }
  const labels = r.stringMap(meta.get('labels'), `${what}: metadata.labels`) ?? {};
  checkLabels(labels, meta.get('labels'), what, r);
  return { name: read.name, namespace, labels, source: doc.ref };
}

export function readPod(doc: Cursor, ctx: WorkloadContext): PodSpec | undefined {
  const meta = readMeta(doc, 'Pod', ctx);
  if (!meta) return undefined;
  const fields = readPodSpec(doc.get('spec'), `Pod ${meta.namespace}/${meta.name}`, ctx);
  return { namespace: meta.namespace, name: meta.name, labels: meta.labels, ...fields, source: meta.source };
}
