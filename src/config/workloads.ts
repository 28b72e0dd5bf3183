/**
 * Kubernetes manifests the lab builds from: Namespace, Pod, Deployment.
 * Unknown fields in them are fine (real manifests carry many); fields that
 * shape the network are read, or reported when this version cannot honour
 * them; fields that cannot matter here are summarised once.
 */
import { createHash } from 'node:crypto';
import type { ContainerSpec, Notice, PodSpec, Protocol, SourceRef } from '../model/types.js';
import type { Reader } from './fields.js';
import { labelProblem } from './names.js';
import type { Cursor } from './source.js';

/** Fields of a pod spec or container the lab reads. */
const POD_FIELDS_READ = ['containers', 'nodeName', 'nodeSelector'];
const CONTAINER_FIELDS_READ = ['name', 'ports'];
/** Fields that shape the network but come with a later version. */
const POD_FIELDS_LATER = ['hostNetwork', 'dnsPolicy', 'dnsConfig', 'hostname', 'subdomain', 'hostAliases', 'initContainers'];
const CONTAINER_FIELDS_LATER = ['readinessProbe'];

/** The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A stable 5-character suffix per replica: scaling up keeps the names of existing pods. */
export function replicaSuffix(namespace: string, deployment: string, index: number): string {
  const digest = createHash('sha256').update(`${namespace}/${deployment}/${index}`).digest();
  let out = '';
  for (let i = 0; i < 5; i++) out += SUFFIX_ALPHABET[digest[i]! % SUFFIX_ALPHABET.length];
  return out;
}

export interface WorkloadContext {
  r: Reader;
  notices: Notice[];
  /** Field names with no effect here, summarised in one notice at the end. */
  noEffect: Set<string>;
  /** Where each pod's nodeName is written (`ns/pod` → line), for messages checked once nodes are known. */
  nodeNameRefs: Map<string, SourceRef>;
}

function describe(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace}/${name}`;
}

function later(ctx: WorkloadContext, ref: SourceRef, what: string, field: string): void {
  ctx.notices.push({ source: ref, message: `${what}: '${field}' is not supported by this version yet and has no effect` });
}

function readContainer(c: Cursor, ctx: WorkloadContext, what: string): ContainerSpec | undefined {
  const name = ctx.r.string(c.get('name'), `${what}: container name`);
  if (name === undefined) return undefined;
  const problem = labelProblem(name, `${what}: container name`);
  if (problem) ctx.r.problems.push({ code: 'bad-name', source: c.get('name').ref, message: problem });
  for (const key of c.keys()) {
    if (CONTAINER_FIELDS_READ.includes(key)) continue;
    if (CONTAINER_FIELDS_LATER.includes(key)) later(ctx, c.keyRef(key), `${what} container ${name}`, key);
    else ctx.noEffect.add(key);
  }
  const ports = [];
  for (const p of ctx.r.list(c.get('ports'), `${what} container ${name}: ports`)) {
    const containerPort = ctx.r.integer(p.get('containerPort'), `${what} container ${name}: containerPort`, 1, 65535);
    if (!p.get('containerPort').exists) {
      ctx.r.problems.push({ code: 'missing-field', source: p.ref, message: `${what} container ${name}: a port needs containerPort` });
    }
    const protocolText = p.get('protocol').exists ? p.get('protocol').value : 'TCP';
    if (protocolText !== 'TCP' && protocolText !== 'UDP') {
      ctx.r.problems.push({ code: 'bad-value', source: p.get('protocol').ref, message: `${what} container ${name}: protocol must be TCP or UDP (SCTP is not supported), not ${JSON.stringify(protocolText)}` });
    }
    const portName = p.get('name').exists ? ctx.r.string(p.get('name'), 'port name') : undefined;
    const hostPort = ctx.r.integer(p.get('hostPort'), `${what} container ${name}: hostPort`, 1, 65535);
    if (hostPort !== undefined) later(ctx, p.get('hostPort').ref, `${what} container ${name}`, 'hostPort');
    if (containerPort !== undefined) {
      ports.push({ containerPort, protocol: (protocolText === 'UDP' ? 'UDP' : 'TCP') as Protocol, ...(portName ? { name: portName } : {}), ...(hostPort ? { hostPort } : {}) });
    }
  }
  return { name, ports };
}

/** Reads a pod spec (of a Pod or of a Deployment's template). */
export function readPodSpec(
  spec: Cursor,
  meta: { namespace: string; name: string; labels: Record<string, string>; source: SourceRef; owner?: PodSpec['owner'] },
  ctx: WorkloadContext,
  what: string,
): PodSpec | undefined {
  for (const key of spec.keys()) {
    if (POD_FIELDS_READ.includes(key)) continue;
    if (POD_FIELDS_LATER.includes(key)) later(ctx, spec.keyRef(key), what, key);
    else ctx.noEffect.add(key);
  }
  const containers: ContainerSpec[] = [];
  const list = ctx.r.list(spec.get('containers'), `${what}: containers`);
  if (list.length === 0) ctx.r.problems.push({ code: 'missing-field', source: spec.exists ? spec.ref : meta.source, message: `${what} needs at least one container` });
  const seenPorts = new Map<string, string>();
  for (const c of list) {
    const container = readContainer(c, ctx, what);
    if (!container) continue;
    if (containers.some((x) => x.name === container.name)) {
      ctx.r.problems.push({ code: 'duplicate', source: c.get('name').ref, message: `${what}: container '${container.name}' is declared twice` });
    }
    for (const p of container.ports) {
      const key = `${p.containerPort}/${p.protocol}`;
      const other = seenPorts.get(key);
      if (other !== undefined) {
        ctx.r.problems.push({
          code: 'duplicate',
          source: c.ref,
          message: `${what}: port ${key} is declared by container '${other}' and '${container.name}'; containers of a pod share one network namespace, so two cannot listen on the same port`,
        });
      }
      seenPorts.set(key, container.name);
    }
    containers.push(container);
  }
  const nodeName = spec.get('nodeName').exists ? ctx.r.string(spec.get('nodeName'), `${what}: nodeName`) : undefined;
  if (nodeName !== undefined) ctx.nodeNameRefs.set(`${meta.namespace}/${meta.name}`, spec.get('nodeName').ref);
  const nodeSelector = ctx.r.stringMap(spec.get('nodeSelector'), `${what}: nodeSelector`);
  return {
    namespace: meta.namespace,
    name: meta.name,
    labels: meta.labels,
    containers,
    source: meta.source,
    ...(nodeName !== undefined ? { nodeName } : {}),
    ...(nodeSelector ? { nodeSelector } : {}),
    ...(meta.owner ? { owner: meta.owner } : {}),
  };
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  source: SourceRef;
}

export function readMeta(doc: Cursor, ctx: WorkloadContext, kind: string, namespaced = true): ObjectMeta | undefined {
  const meta = doc.get('metadata');
  const name = ctx.r.string(meta.get('name'), `${kind} metadata.name`);
  if (name === undefined) {
    if (!meta.get('name').exists) ctx.r.problems.push({ code: 'missing-field', source: doc.ref, message: `${kind} needs metadata.name` });
    return undefined;
  }
  const problem = labelProblem(name, `${kind} name`);
  if (problem) ctx.r.problems.push({ code: 'bad-name', source: meta.get('name').ref, message: problem });
  const namespace = namespaced ? (ctx.r.string(meta.get('namespace'), `${kind} ${name}: metadata.namespace`) ?? 'default') : name;
  const nsProblem = namespaced ? labelProblem(namespace, `${kind} ${name}: namespace`) : undefined;
  if (nsProblem) ctx.r.problems.push({ code: 'bad-name', source: meta.get('namespace').ref, message: nsProblem });
  return { name, namespace, labels: ctx.r.stringMap(meta.get('labels'), `${kind} ${name}: labels`) ?? {}, source: doc.ref };
}

export function readPod(doc: Cursor, ctx: WorkloadContext): PodSpec | undefined {
  const meta = readMeta(doc, ctx, 'Pod');
  if (!meta) return undefined;
  return readPodSpec(doc.get('spec'), meta, ctx, describe('Pod', meta.namespace, meta.name));
}

export const MAX_REPLICAS = 1000;

export function readDeployment(doc: Cursor, ctx: WorkloadContext): PodSpec[] {
  const meta = readMeta(doc, ctx, 'Deployment');
  if (!meta) return [];
  const what = describe('Deployment', meta.namespace, meta.name);
  const spec = doc.get('spec');
  const replicas = ctx.r.integer(spec.get('replicas'), `${what}: spec.replicas`, 0, MAX_REPLICAS, 1) ?? 1;
  const template = spec.get('template');
  const labels = ctx.r.stringMap(template.get('metadata').get('labels'), `${what}: template labels`) ?? {};
  const selector = ctx.r.stringMap(spec.get('selector').get('matchLabels'), `${what}: spec.selector.matchLabels`);
  if (!selector || Object.keys(selector).length === 0) {
    ctx.r.problems.push({ code: 'missing-field', source: spec.exists ? spec.ref : doc.ref, message: `${what}: spec.selector.matchLabels is required` });
  } else {
    const mismatch = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
    if (mismatch.length) {
      ctx.r.problems.push({
        code: 'bad-value',
        source: spec.get('selector').ref,
        message: `${what}: selector ${mismatch.map(([k, v]) => `${k}=${v}`).join(', ')} does not match the template labels; Kubernetes requires the template to carry every selector label`,
      });
    }
  }
  // The template is read once (and reports once); replicas are copies under their own names.
  const podTemplate = readPodSpec(template.get('spec'), { ...meta, labels, owner: { kind: 'Deployment', name: meta.name } }, ctx, what);
  if (!podTemplate) return [];
  const pods: PodSpec[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = `${meta.name}-${replicaSuffix(meta.namespace, meta.name, i)}`;
    const problem = labelProblem(name, `${what}: pod name`);
    if (problem) {
      ctx.r.problems.push({ code: 'bad-name', source: doc.get('metadata').get('name').ref, message: `${problem}; shorten the Deployment name` });
      break;
    }
    pods.push({ ...podTemplate, name });
    const ref = ctx.nodeNameRefs.get(`${meta.namespace}/${meta.name}`);
    if (ref) ctx.nodeNameRefs.set(`${meta.namespace}/${name}`, ref);
  }
  return pods;
}
