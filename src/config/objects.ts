/**
 * Sorts documents into objects by apiVersion and kind. `v1` Lists (what
 * `kubectl get -o yaml` writes) are opened, so their items count like
 * documents of their own.
 */
import { LAB_API_VERSION } from './defaults.js';
import type { Cursor, SourceDocument } from './documents.js';
import type { Reader } from './fields.js';

export interface ManifestObject {
  kind: string;
  apiVersion: string;
  root: Cursor;
}

/** The API version each built kind is served under; anything else is refused, as the API server would. */
const VERSIONS: Record<string, string> = {
  Lab: LAB_API_VERSION,
  Namespace: 'v1',
  Pod: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  ReachabilityTest: LAB_API_VERSION,
};

/** The kinds of the lab's own API group. */
const LAB_KINDS = ['Lab', 'ReachabilityTest'];

function classify(root: Cursor, r: Reader, out: ManifestObject[]): void {
  if (!root.isMap) {
    r.add('bad-value', root.ref, 'a document must be a mapping with apiVersion and kind (a Kubernetes manifest or the Lab document)');
    return;
  }
  const apiVersion = root.get('apiVersion').value;
  const kind = root.get('kind').value;
  const missing = [typeof apiVersion === 'string' ? '' : 'apiVersion', typeof kind === 'string' ? '' : 'kind'].filter(Boolean);
  if (missing.length || typeof apiVersion !== 'string' || typeof kind !== 'string') {
    r.add('missing-field', root.ref, `a document needs ${missing.join(' and ')} as strings (e.g. apiVersion: v1, kind: Pod)`);
    return;
  }
  if (kind === 'List' && apiVersion === 'v1') {
    for (const item of r.list(root.get('items'), 'List items')) classify(item, r, out);
    return;
  }
  if (apiVersion.startsWith('kube-netlab.dev/') && !LAB_KINDS.includes(kind)) {
    r.add('bad-value', root.get('kind').ref, `kind '${kind}' does not exist in ${apiVersion}; its kinds are ${LAB_KINDS.join(' and ')}`);
    return;
  }
  const expected = VERSIONS[kind];
  if (expected !== undefined && apiVersion !== expected) {
    r.add('bad-value', root.get('apiVersion').ref, `${kind} is served as apiVersion ${expected}, not ${apiVersion}`);
    // A Lab document with the wrong version still counts, so the problem is not also reported as a missing Lab.
    if (kind !== 'Lab') return;
  }
  out.push({ kind, apiVersion, root });
}

export function classifyDocuments(docs: SourceDocument[], r: Reader): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const doc of docs) classify(doc.root, r, out);
  return out;
}
