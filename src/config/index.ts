/**
 * The config layer: lab files in, a validated and defaulted `LabSpec` out,
 * or one `ConfigError` listing every problem with its file and line.
 * Nothing here touches the machine beyond reading the files.
 */
import type { IngressClassSpec, TlsSecretSpec } from '../spec/ingress.js';
import type { LabSpec, PodSpec, SourceRef } from '../spec/lab.js';
import { ConfigError, type ConfigProblem } from '../util/errors.js';
import { checkPods } from './checks.js';
import { CLUSTER_DNS_NOTICE, isClusterDnsObject } from './cluster-dns.js';
import { CLUSTER_DNS } from '../spec/cluster-dns.js';
import { parseCidr } from './cidrs.js';
import { readDeployment } from './deployments.js';
import { checkIngresses, isTlsSecret, readIngress, readIngressClass, readTlsSecret, type ReadIngress } from './ingresses.js';
import { readStatefulSet } from './statefulsets.js';
import { parseDocuments, type SourceText } from './documents.js';
import { Reader } from './fields.js';
import { MINIMAL_LAB, readLab, type LabSettings } from './lab.js';
import { LATER_KINDS, Notices, objectName } from './notices.js';
import { classifyDocuments, type ManifestObject } from './objects.js';
import { readLabFiles } from './read.js';
import { builtInNotice, checkServices, isBuiltInService, readService, type ReadService, type ServiceContext } from './services.js';
import { readNamespace, readPod } from './workloads.js';
import { checkNetworkPolicies, readNetworkPolicy } from './network-policies.js';
import { checkReachabilityTests, readReachabilityTest } from './reachability-tests.js';
import type { NetworkPolicySpec } from '../spec/network-policy.js';
import type { ReachabilityTestSpec } from '../spec/reachability.js';

export { DEFAULTS, DEFAULT_BACKEND, LAB_API_VERSION, LIMITS } from './defaults.js';
export { deploymentKey, replicaNames } from './deployments.js';
export { statefulSetKey } from './statefulsets.js';
export type { SourceText } from './documents.js';

export interface LoadOptions {
  /** Overrides the Lab document's metadata.name (the CLI's --name); validated the same way. */
  name?: string;
  /**
   * Replica counts that win over the file's `spec.replicas` (set by
   * `scale`): Deployments by `<namespace>/<name>`, StatefulSets by
   * `statefulset/<namespace>/<name>`.
   */
  replicas?: Readonly<Record<string, number>>;
}

/** Reads files and directories (their *.yaml / *.yml files, in name order) and parses them as one lab. */
export function loadLab(paths: string[], opts: LoadOptions = {}): LabSpec {
  return parseLab(readLabFiles(paths), opts);
}

/** Parses lab file texts into a LabSpec; pure. Throws one ConfigError holding every problem found. */
export function parseLab(docs: SourceText[], opts: LoadOptions = {}): LabSpec {
  const problems: ConfigProblem[] = [];
  const r = new Reader(problems);
  const notices = new Notices();
  const objects = classifyDocuments(
    docs.flatMap((d) => parseDocuments(d, problems)),
    r,
  );
  const syntaxFailed = problems.some((p) => p.code === 'yaml-syntax');

  const settings = readLabDocument(objects, docs, r, opts, syntaxFailed);
  const namespaces = readNamespaces(objects, r);
  const ctx: ServiceContext = {
    r,
    notices,
    // Every cluster has kube-system (the planner adds it with the cluster DNS), so objects may live there undeclared.
    namespaces: new Set([...namespaces.keys(), CLUSTER_DNS.namespace]),
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
    ...(settings ? { nodes: settings.nodes.map((n) => n.name) } : {}),
    ...(settings && !badServiceCIDR(objects) ? { serviceCIDR: settings.serviceNetwork.cidr } : {}),
  };

  const pods: PodSpec[] = [];
  const services: ReadService[] = [];
  const deployments = new Map<string, SourceRef>();
  const statefulSets = new Map<string, SourceRef>();
  const ingresses: ReadIngress[] = [];
  const ingressClasses: IngressClassSpec[] = [];
  const tlsSecrets: TlsSecretSpec[] = [];
  const networkPolicies: NetworkPolicySpec[] = [];
  const reachabilityTests: ReachabilityTestSpec[] = [];
  for (const o of objects) {
    switch (o.kind) {
      case 'Lab':
      case 'Namespace':
        break;
      case 'Pod': {
        const pod = readPod(o.root, ctx);
        if (pod) pods.push(pod);
        break;
      }
      case 'Deployment': {
        const key = firstDeclaration(o, deployments, r);
        if (key === undefined) break;
        const [namespace, name] = key.split('/') as [string, string];
        if (isClusterDnsObject('Deployment', namespace, name)) {
          notices.about(`Deployment ${key}`, o.root.ref, CLUSTER_DNS_NOTICE);
          break;
        }
        deployments.set(key, o.root.ref);
        pods.push(...readDeployment(o.root, ctx));
        break;
      }
      case 'StatefulSet': {
        const key = firstDeclaration(o, statefulSets, r);
        if (key === undefined) break;
        statefulSets.set(key, o.root.ref);
        pods.push(...readStatefulSet(o.root, ctx));
        break;
      }
      case 'Service': {
        const service = readService(o.root, ctx);
        if (service && isBuiltInService(service.spec)) builtInNotice(service.spec, notices);
        else if (service) services.push(service);
        break;
      }
      case 'Ingress': {
        const ingress = readIngress(o.root, ctx);
        if (ingress) ingresses.push(ingress);
        break;
      }
      case 'NetworkPolicy': {
        const policy = readNetworkPolicy(o.root, ctx);
        if (policy) networkPolicies.push(policy);
        break;
      }
      case 'ReachabilityTest': {
        const test = readReachabilityTest(o.root, r);
        if (test) reachabilityTests.push(test);
        break;
      }
      case 'IngressClass': {
        const ingressClass = readIngressClass(o.root, r, notices);
        if (ingressClass) ingressClasses.push(ingressClass);
        break;
      }
      case 'Secret': {
        // Only TLS Secrets shape the lab (Ingress certificates); the others stay ignored.
        if (o.apiVersion !== 'v1' || !isTlsSecret(o.root)) {
          reportOther(o, notices);
          break;
        }
        const secret = readTlsSecret(o.root, ctx);
        if (secret) tlsSecrets.push(secret);
        break;
      }
      default:
        reportOther(o, notices);
    }
  }
  checkPods(pods, r);
  checkServices(services, r);
  checkIngresses(ingresses, ingressClasses, tlsSecrets, r, notices);
  checkNetworkPolicies(networkPolicies, r);
  checkReachabilityTests(reachabilityTests, r);

  if (problems.length || !settings) throw new ConfigError(sortProblems(problems, docs));
  return {
    ...settings,
    namespaces: [...namespaces.keys()],
    namespaceLabels: Object.fromEntries([...namespaces].flatMap(([name, ns]) => (ns && Object.keys(ns.labels).length ? [[name, ns.labels]] : []))),
    pods,
    services: services.map((s) => s.spec),
    deployments: [...deployments.keys()],
    statefulSets: [...statefulSets.keys()],
    ingresses: ingresses.map((i) => i.spec),
    ingressClasses,
    tlsSecrets,
    networkPolicies,
    reachabilityTests,
    notices: notices.all(),
    files: docs.map((d) => d.file),
  };
}

function readLabDocument(objects: ManifestObject[], docs: SourceText[], r: Reader, opts: LoadOptions, syntaxFailed: boolean): LabSettings | undefined {
  const labs = objects.filter((o) => o.kind === 'Lab');
  // A syntax error may well have hidden the Lab document; saying it is missing would mislead.
  if (labs.length === 0 && !syntaxFailed) {
    const where = docs.map((d) => d.file).join(', ') || 'the input';
    r.add('no-lab', undefined, `no Lab document in ${where}; add one, for example:\n---\n${MINIMAL_LAB}`);
  }
  const first = labs[0];
  for (const extra of labs.slice(1)) {
    r.add('duplicate', extra.root.ref, `a second Lab document (the first is at ${first!.root.ref.file}:${first!.root.ref.line}); a lab has exactly one`);
  }
  return first && readLab(first.root, r, opts.name);
}

interface DeclaredNamespace {
  source: SourceRef;
  labels: Record<string, string>;
}

/** `default` first, then every Namespace document in input order. */
function readNamespaces(objects: ManifestObject[], r: Reader): Map<string, DeclaredNamespace | undefined> {
  const namespaces = new Map<string, DeclaredNamespace | undefined>([['default', undefined]]);
  for (const o of objects.filter((x) => x.kind === 'Namespace')) {
    const ns = readNamespace(o.root, r);
    if (!ns) continue;
    const before = namespaces.get(ns.name)?.source;
    // Declaring `default` once is harmless: it exists in every cluster.
    if (before) r.add('duplicate', ns.source, `Namespace ${ns.name} is declared twice (first at ${before.file}:${before.line})`);
    namespaces.set(ns.name, { source: ns.source, labels: ns.labels });
  }
  return namespaces;
}

/**
 * A written service CIDR that is no valid network is reported by the Lab
 * reader; checking ClusterIPs against the default that stands in for it
 * would only add misleading problems.
 */
function badServiceCIDR(objects: ManifestObject[]): boolean {
  const c = objects.find((o) => o.kind === 'Lab')?.root.get('spec').get('serviceNetwork').get('cidr');
  return c?.exists === true && parseCidr(c.value).range === undefined;
}

/**
 * `<namespace>/<name>` of a workload seen for the first time; a second
 * declaration is reported and undefined returned. A missing name is left
 * to the reader, which says so with the object's line.
 */
function firstDeclaration(o: ManifestObject, seen: Map<string, SourceRef>, r: Reader): string | undefined {
  const name = metaString(o, 'name');
  const key = `${metaString(o, 'namespace') ?? 'default'}/${name}`;
  const before = name === undefined ? undefined : seen.get(key);
  if (before) {
    r.add('duplicate', o.root.ref, `${o.kind} ${key} is declared twice (first at ${before.file}:${before.line})`);
    return undefined;
  }
  return key;
}

function metaString(o: ManifestObject, field: string): string | undefined {
  const v = o.root.get('metadata').get(field).value;
  return typeof v === 'string' ? v : undefined;
}

function reportOther(o: ManifestObject, notices: Notices): void {
  const name = metaString(o, 'name') ?? '(unnamed)';
  if (LATER_KINDS.includes(o.kind)) {
    notices.laterKind(o.kind, objectName(name, metaString(o, 'namespace') ?? 'default'), o.root.ref);
  } else {
    notices.ignoredKind(o.kind, objectName(name, metaString(o, 'namespace')), o.root.ref);
  }
}

/** Problems in reading order: unplaced ones first, then by file as given, line and column. */
function sortProblems(problems: ConfigProblem[], docs: SourceText[]): ConfigProblem[] {
  const fileIndex = new Map(docs.map((d, i) => [d.file, i]));
  const rank = (p: ConfigProblem): [number, number, number] =>
    p.source ? [fileIndex.get(p.source.file) ?? docs.length, p.source.line, p.source.col ?? 0] : [-1, 0, 0];
  return problems
    .map((p, i) => ({ p, i, k: rank(p) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2] || a.i - b.i)
    .map((x) => x.p);
}
