/**
 * The config layer: lab files in, a validated and defaulted `LabSpec` out,
 * or one `ConfigError` listing every problem with its file and line.
 * Nothing here touches the machine beyond reading the files.
 */
import type { LabSpec, Notice, PodSpec, SourceRef } from '../model/types.js';
import { ConfigError, type ConfigProblem } from '../util/errors.js';
import { Reader } from './fields.js';
import { LAB_API_VERSION, readLab, type LabSettings } from './lab.js';
import { readSources, type SourceText } from './read.js';
import { parseDocuments, type SourceDocument } from './source.js';
import { readDeployment, readMeta, readPod, type WorkloadContext } from './workloads.js';

export { DEFAULTS } from './lab.js';

/** More pods than this would not fit the lab's scale bar. */
export const MAX_PODS = 1000;

/** Kinds a later version builds; accepted now and reported, never silently dropped. */
const LATER_KINDS = ['Service', 'Ingress', 'NetworkPolicy', 'StatefulSet', 'Endpoints', 'EndpointSlice', 'IngressClass'];

const MINIMAL_LAB = `apiVersion: ${LAB_API_VERSION}\nkind: Lab\nmetadata:\n  name: demo`;

export function loadLab(paths: string[], opts: { name?: string } = {}): LabSpec {
  return parseLab(readSources(paths), opts);
}

export function parseLab(sources: SourceText[], opts: { name?: string } = {}): LabSpec {
  const problems: ConfigProblem[] = [];
  const r = new Reader(problems);
  const ctx: WorkloadContext = { r, notices: [], noEffect: new Set(), nodeNameRefs: new Map() };
  const docs: SourceDocument[] = sources.flatMap((s) => parseDocuments(s.file, s.text, problems));

  const labs: SourceDocument[] = [];
  const namespaces = new Map<string, SourceRef>([['default', { file: '(built in)', line: 0 }]]);
  const pods: PodSpec[] = [];
  const deployments = new Map<string, SourceRef>();
  for (const doc of docs) {
    const root = doc.root;
    if (!root.isMap) {
      problems.push({ code: 'bad-value', source: root.ref, message: 'a document must be a mapping with apiVersion and kind' });
      continue;
    }
    const apiVersion = root.get('apiVersion').value;
    const kind = root.get('kind').value;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
      problems.push({ code: 'missing-field', source: root.ref, message: 'a document needs apiVersion and kind' });
      continue;
    }
    switch (kind) {
      case 'Lab':
        if (apiVersion !== LAB_API_VERSION) {
          problems.push({ code: 'bad-value', source: root.get('apiVersion').ref, message: `the Lab document's apiVersion must be ${LAB_API_VERSION}` });
        }
        labs.push(doc);
        break;
      case 'Namespace': {
        const meta = readMeta(root, ctx, 'Namespace', false);
        if (!meta) break;
        const before = namespaces.get(meta.name);
        if (before) {
          problems.push({ code: 'duplicate', source: meta.source, message: `Namespace '${meta.name}' is declared twice${before.line ? ` (first at ${before.file}:${before.line})` : ' (default always exists)'}` });
        }
        namespaces.set(meta.name, meta.source);
        break;
      }
      case 'Pod': {
        const pod = readPod(root, ctx);
        if (pod) pods.push(pod);
        break;
      }
      case 'Deployment': {
        const made = readDeployment(root, ctx);
        const meta = root.get('metadata');
        const key = `${String(meta.get('namespace').value ?? 'default')}/${String(meta.get('name').value)}`;
        const before = deployments.get(key);
        if (before) problems.push({ code: 'duplicate', source: root.ref, message: `Deployment ${key} is declared twice (first at line ${before.line})` });
        deployments.set(key, root.ref);
        pods.push(...made);
        break;
      }
      default: {
        const name = root.get('metadata').get('name').value;
        const ns = root.get('metadata').get('namespace').value;
        const what = `${kind} ${ns ? `${String(ns)}/` : ''}${String(name ?? '(unnamed)')}`;
        ctx.notices.push({
          source: root.ref,
          message: LATER_KINDS.includes(kind)
            ? `${what}: not yet supported by this version; it has no effect on the lab`
            : `${what}: kind ${kind} does not shape the network and is ignored`,
        });
      }
    }
  }

  let settings: LabSettings | undefined;
  if (labs.length === 0 && !problems.some((p) => p.code === 'yaml-syntax')) {
    problems.push({ code: 'no-lab', message: `no Lab document in ${sources.map((s) => s.file).join(', ') || 'the input'}; add one, for example:\n${MINIMAL_LAB}` });
  }
  for (const extra of labs.slice(1)) {
    problems.push({ code: 'duplicate', source: extra.root.ref, message: `a second Lab document (the first is at ${labs[0]!.root.ref.file}:${labs[0]!.root.ref.line}); a lab has exactly one` });
  }
  if (labs[0]) settings = readLab(labs[0].root, r, opts.name);

  checkPods(pods, namespaces, settings, ctx.nodeNameRefs, problems);
  if (problems.length) throw new ConfigError(problems);

  const notices: Notice[] = [...ctx.notices];
  if (ctx.noEffect.size) notices.push({ message: `fields with no effect in the lab (no images run): ${[...ctx.noEffect].sort().join(', ')}` });
  return {
    ...settings!,
    namespaces: [...namespaces.keys()],
    pods,
    notices,
    files: [...new Set(sources.map((s) => s.file))],
  };
}

function checkPods(
  pods: PodSpec[],
  namespaces: Map<string, SourceRef>,
  settings: LabSettings | undefined,
  nodeNameRefs: Map<string, SourceRef>,
  problems: ConfigProblem[],
): void {
  const seen = new Map<string, SourceRef>();
  const nodes = settings?.nodes.map((n) => n.name) ?? [];
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.name}`;
    const before = seen.get(key);
    if (before) problems.push({ code: 'duplicate', source: pod.source, message: `pod ${key} is declared twice (first at ${before.file}:${before.line})` });
    seen.set(key, pod.source);
    if (!namespaces.has(pod.namespace)) {
      problems.push({ code: 'bad-value', source: pod.source, message: `pod ${key} is in namespace '${pod.namespace}', which no Namespace document declares; add:\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${pod.namespace}` });
    }
    if (settings && pod.nodeName !== undefined && !nodes.includes(pod.nodeName)) {
      problems.push({ code: 'unknown-node', source: nodeNameRefs.get(key) ?? pod.source, message: `pod ${key} names nodeName '${pod.nodeName}', which is not a node of the lab; nodes: ${nodes.join(', ')}` });
    }
  }
  if (pods.length > MAX_PODS) {
    problems.push({ code: 'capacity', source: pods[MAX_PODS]!.source, message: `the lab has ${pods.length} pods; at most ${MAX_PODS} are supported` });
  }
}
