/**
 * `networking.k8s.io/v1` Ingress and IngressClass, and `v1` Secrets of type
 * `kubernetes.io/tls`, validated as the API server validates them. Which
 * Ingresses the lab's ingress-nginx serves is decided here too, so the
 * planner and the notices agree on it.
 */
import type { IngressBackendSpec, IngressClassSpec, IngressPathSpec, IngressRuleSpec, IngressSpec, IngressTlsSpec, PathType, TlsSecretSpec } from '../spec/ingress.js';
import { INGRESS_NGINX, isServed, servedClasses } from '../spec/ingress.js';
import type { LabSpec, SourceRef } from '../spec/lab.js';
import { parseIPv4 } from '../util/addresses.js';
import type { Cursor } from './documents.js';
import type { Reader } from './fields.js';
import { labelProblem, portNameProblem, subdomainProblem } from './names.js';
import type { Notices } from './notices.js';
import { readMeta, type WorkloadContext } from './workloads.js';
import { readNginxAnnotations, wantsRegexPaths, type RawAnnotation } from './ingress-annotations.js';

const PATH_TYPES: readonly PathType[] = ['Exact', 'Prefix', 'ImplementationSpecific'];
const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_FIELDS = ['ingressClassName', 'defaultBackend', 'tls', 'rules'];
const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const TLS_TYPE = 'kubernetes.io/tls';
/** The API server refuses these in Exact and Prefix paths: they would escape or alias the path. */
const BAD_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const BAD_SUFFIXES = ['/..', '/.'];
/**
 * Characters a path may hold: RFC 3986 path characters without '%'. nginx
 * matches decoded paths, so an escape in a rule would match differently
 * there than the rule reads; ingress-nginx's strict path check refuses even
 * more.
 */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
/** An ImplementationSpecific path of an Ingress with use-regex or rewrite-target is a regular expression (PCRE, matched case-insensitively). */
const REGEX_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/|^?[\]{}\\]*$/;

/** An Ingress and where its cross-checked values are written. */
export interface ReadIngress {
  spec: IngressSpec;
  /** Aligned with `spec.tls`: where each secretName is written. */
  secretRefs: (SourceRef | undefined)[];
  classRef?: SourceRef;
  /** `metadata.annotations` as written, read for the Ingresses the lab serves. */
  annotations: RawAnnotation[];
}

const keyOf = (o: { namespace: string; name: string }) => `${o.namespace}/${o.name}`;
const at = (s: SourceRef) => `${s.file}:${s.line}`;

/**
 * Namespaced metadata whose name is a DNS-1123 subdomain (Ingresses and
 * Secrets may have dots in their names, unlike pods). The namespace must be
 * declared, as for every other namespaced object.
 */
function readNamespacedMeta(doc: Cursor, kind: string, ctx: WorkloadContext): { name: string; namespace: string; source: SourceRef } | undefined {
  const meta = readMeta(doc, kind, ctx, subdomainProblem);
  return meta && { name: meta.name, namespace: meta.namespace, source: meta.source };
}

function annotations(doc: Cursor, what: string, r: Reader): Record<string, string> {
  return r.stringMap(doc.get('metadata').get('annotations'), `${what}: metadata.annotations`) ?? {};
}

/**
 * A rule or tls host: a DNS-1123 subdomain, or `*.` and one, in lower case.
 * Upper case is refused rather than folded, as the API server does, so the
 * file says what the lab serves.
 */
function hostProblem(host: string, where: string): string | undefined {
  if (parseIPv4(host) || host.includes(':')) return `${where} '${host}' must be a DNS name, not an IP address or host:port; Ingress rules match the Host header's name only`;
  if (host === '*') return `${where} '*' is not allowed; leave host out for a rule that serves every host, or write a wildcard such as *.example.com`;
  if (host !== host.toLowerCase()) return `${where} '${host}' has upper-case letters; write '${host.toLowerCase()}' (host names are matched case-insensitively)`;
  const wildcard = host.startsWith('*.');
  const rest = wildcard ? host.slice(2) : host;
  if (rest.includes('*')) return `${where} '${host}': a wildcard '*' may only be the whole first label, as in *.example.com (it then matches exactly one label)`;
  return subdomainProblem(rest, where);
}

function readHost(c: Cursor, where: string, r: Reader): string | undefined {
  const host = r.string(c, where);
  if (host === undefined) return undefined;
  const problem = hostProblem(host, where);
  if (problem) {
    r.add('bad-value', c.ref, problem);
    return undefined;
  }
  return host;
}

function readBackend(c: Cursor, where: string, r: Reader): IngressBackendSpec | undefined {
  if (!r.map(c, where)) {
    if (!c.exists) r.add('missing-field', c.at, `${where} is required, e.g. backend: {service: {name: web, port: {number: 80}}}`);
    return undefined;
  }
  r.strict(c, ['service', 'resource'], where);
  if (c.get('resource').exists) {
    r.add('bad-value', c.keyRef('resource'), `${where}.resource is not supported: it names a custom resource, and the lab has none; use ${where}.service with a Service of the Ingress's namespace`);
    return undefined;
  }
  const svc = c.get('service');
  if (!r.map(svc, `${where}.service`)) {
    if (!svc.exists) r.add('missing-field', c.ref, `${where} needs a service, e.g. service: {name: web, port: {number: 80}}`);
    return undefined;
  }
  r.strict(svc, ['name', 'port'], `${where}.service`);
  const nameC = svc.get('name');
  r.required(nameC, `${where}.service.name`, ', the Service of the Ingress\'s namespace to send the requests to');
  const service = r.string(nameC, `${where}.service.name`);
  const nameProblem = service === undefined ? undefined : labelProblem(service, `${where}.service.name`);
  if (nameProblem) r.add('bad-name', nameC.ref, nameProblem);
  const port = readBackendPort(svc.get('port'), svc, `${where}.service.port`, r);
  if (service === undefined || nameProblem || port === undefined) return undefined;
  return { service, port };
}

function readBackendPort(c: Cursor, svc: Cursor, where: string, r: Reader): IngressBackendSpec['port'] | undefined {
  const example = `, e.g. port: {number: 80} or port: {name: http}`;
  if (!r.map(c, where)) {
    if (!c.exists) r.add('missing-field', svc.ref, `${where} is required${example}`);
    return undefined;
  }
  r.strict(c, ['number', 'name'], where);
  const numberC = c.get('number');
  const nameC = c.get('name');
  if (numberC.exists && nameC.exists) {
    r.add('bad-value', c.ref, `${where} has both number and name; give exactly one${example}`);
    return undefined;
  }
  if (numberC.exists) {
    const number = r.integer(numberC, `${where}.number`, 1, 65535);
    return number === undefined ? undefined : { number };
  }
  if (nameC.exists) {
    const name = r.string(nameC, `${where}.name`);
    const problem = name === undefined ? undefined : portNameProblem(name, `${where}.name`);
    if (problem) r.add('bad-name', nameC.ref, problem);
    return name === undefined || problem ? undefined : { name };
  }
  r.add('missing-field', c.ref, `${where} needs a number or a name${example}`);
  return undefined;
}

function pathProblem(path: string, type: PathType, where: string, regex: boolean): string | undefined {
  if (!path.startsWith('/')) return `${where} '${path}' must be an absolute path starting with '/'`;
  if (regex && type === 'ImplementationSpecific') {
    if (!REGEX_CHARS.test(path)) return `${where} '${path}' has characters nginx would not read as part of the regular expression (spaces, quotes, '#', '%')`;
    try {
      new RegExp(path);
    } catch (err) {
      return `${where} '${path}' is not a regular expression: ${(err as Error).message}`;
    }
    return undefined;
  }
  if (regex && /[()*+$?|[\]{}^\\]/.test(path)) {
    return `${where} '${path}' has regular-expression characters; on an Ingress with use-regex or rewrite-target, ingress-nginx takes them only in a path of pathType ImplementationSpecific`;
  }
  if (type !== 'ImplementationSpecific') {
    const seq = BAD_SEQUENCES.find((s) => path.includes(s));
    if (seq) return `${where} '${path}' must not contain '${seq}'`;
    const suffix = BAD_SUFFIXES.find((s) => path.endsWith(s));
    if (suffix) return `${where} '${path}' cannot end with '${suffix}'`;
  }
  if (!PATH_CHARS.test(path)) {
    const hint = /[|^?[\]{}\\]/.test(path) ? `; a regular expression needs pathType ImplementationSpecific and the annotation nginx.ingress.kubernetes.io/use-regex: "true"` : '';
    return `${where} '${path}' has characters the lab does not route on (spaces, '%', '?', '#', quotes, ...): use letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ /; a query string is never part of the matched path${hint}`;
  }
  return undefined;
}

function readPath(c: Cursor, where: string, r: Reader, regex: boolean): IngressPathSpec | undefined {
  r.strict(c, ['path', 'pathType', 'backend'], where);
  if (!c.isMap) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings such as {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}`);
    return undefined;
  }
  const typeC = c.get('pathType');
  r.required(typeC, `${where}.pathType`, ` in networking.k8s.io/v1: one of ${PATH_TYPES.join(', ')}`);
  const pathType = r.oneOf(typeC, `${where}.pathType`, PATH_TYPES);
  const pathC = c.get('path');
  // ImplementationSpecific may leave the path out; ingress-nginx then serves '/'.
  let path = r.string(pathC, `${where}.path`);
  if (path === undefined && !pathC.exists && pathType === 'ImplementationSpecific') path = '/';
  else if (path === undefined && !pathC.exists && pathType !== undefined) r.add('missing-field', c.ref, `${where}.path is required for pathType ${pathType}, e.g. path: /`);
  const problem = path === undefined || pathType === undefined ? undefined : pathProblem(path, pathType, `${where}.path`, regex);
  if (problem) r.add('bad-value', pathC.ref, problem);
  const backend = readBackend(c.get('backend'), `${where}.backend`, r);
  if (path === undefined || pathType === undefined || problem || !backend) return undefined;
  return { path, pathType, backend };
}

function readRule(c: Cursor, where: string, r: Reader, regex: boolean): IngressRuleSpec | undefined {
  r.strict(c, ['host', 'http'], where);
  if (!c.isMap) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings such as {host: shop.example.com, http: {paths: [...]}}`);
    return undefined;
  }
  const host = readHost(c.get('host'), `${where}.host`, r);
  const http = c.get('http');
  if (!http.exists) return { ...(host !== undefined ? { host } : {}), paths: [] };
  if (!r.map(http, `${where}.http`)) return undefined;
  r.strict(http, ['paths'], `${where}.http`);
  const items = r.list(http.get('paths'), `${where}.http.paths`);
  if (items.length === 0 && !(http.get('paths').exists && !http.get('paths').isSeq)) {
    r.add('missing-field', http.get('paths').exists ? http.get('paths').ref : http.at, `${where}.http.paths needs at least one path, e.g. paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]`);
  }
  const paths = items.map((p) => readPath(p, `${where}.http.paths[]`, r, regex));
  if (paths.some((p) => p === undefined)) return undefined;
  return { ...(host !== undefined ? { host } : {}), paths: paths as IngressPathSpec[] };
}

function readTls(c: Cursor, what: string, r: Reader): { tls: IngressTlsSpec; secretRef?: SourceRef } | undefined {
  const where = `${what}: spec.tls[]`;
  r.strict(c, ['hosts', 'secretName'], where);
  if (!c.isMap) {
    if (!c.exists) r.add('bad-value', c.ref, `${where} entries must be mappings such as {hosts: [shop.example.com], secretName: shop-tls}`);
    return undefined;
  }
  const hosts = r.list(c.get('hosts'), `${where}.hosts`).map((h) => readHost(h, `${where}.hosts[]`, r));
  const secretC = c.get('secretName');
  const secretName = r.string(secretC, `${where}.secretName`);
  const problem = secretName === undefined ? undefined : subdomainProblem(secretName, `${where}.secretName`);
  if (problem) r.add('bad-name', secretC.ref, problem);
  if (hosts.some((h) => h === undefined) || problem) return undefined;
  return {
    tls: { hosts: hosts as string[], ...(secretName !== undefined ? { secretName } : {}) },
    ...(secretName !== undefined ? { secretRef: secretC.ref } : {}),
  };
}

/** `spec.ingressClassName`, or the deprecated class annotation that ingress-nginx still honours. */
function readClassName(doc: Cursor, spec: Cursor, what: string, r: Reader, annotated: string | undefined): { name?: string; ref?: SourceRef } {
  const c = spec.get('ingressClassName');
  const field = r.string(c, `${what}: spec.ingressClassName`);
  const problem = field === undefined ? undefined : subdomainProblem(field, `${what}: spec.ingressClassName`);
  if (problem) r.add('bad-name', c.ref, problem);
  const annotationRef = doc.get('metadata').get('annotations').keyRef(CLASS_ANNOTATION);
  if (field !== undefined && annotated !== undefined && annotated !== field) {
    r.add('bad-value', annotationRef, `${what}: annotation ${CLASS_ANNOTATION} '${annotated}' must match spec.ingressClassName '${field}' when both are given; remove the annotation`);
  }
  if (field !== undefined) return problem ? {} : { name: field, ref: c.ref };
  return annotated !== undefined && annotated !== '' ? { name: annotated, ref: annotationRef } : {};
}

export function readIngress(doc: Cursor, ctx: WorkloadContext): ReadIngress | undefined {
  const { r } = ctx;
  r.strict(doc, TOP_FIELDS, 'an Ingress');
  const meta = readNamespacedMeta(doc, 'Ingress', ctx);
  if (!meta) return undefined;
  const what = `Ingress ${keyOf(meta)}`;
  const spec = doc.get('spec');
  if (!r.map(spec, `${what}: spec`)) {
    if (!spec.exists) r.add('missing-field', doc.ref, `${what} needs a spec with rules or a defaultBackend, e.g. spec: {rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}`);
    return undefined;
  }
  r.strict(spec, SPEC_FIELDS, `${what}: spec`);
  const rawAnnotations = annotations(doc, what, r);
  const { name: ingressClassName, ref: classRef } = readClassName(doc, spec, what, r, rawAnnotations[CLASS_ANNOTATION]);

  const defaultC = spec.get('defaultBackend');
  const defaultBackend = defaultC.exists ? readBackend(defaultC, `${what}: spec.defaultBackend`, r) : undefined;
  const ruleItems = r.list(spec.get('rules'), `${what}: spec.rules`);
  if (ruleItems.length === 0 && !defaultC.exists) {
    r.add('missing-field', spec.get('rules').exists ? spec.get('rules').ref : spec.at, `${what}: spec needs rules or a defaultBackend (either is enough); an Ingress with neither routes nothing`);
  }
  const rules = ruleItems.map((c) => readRule(c, `${what}: spec.rules[]`, r, wantsRegexPaths(rawAnnotations)));
  const tlsRead = r.list(spec.get('tls'), `${what}: spec.tls`).map((c) => readTls(c, what, r));
  if (rules.some((x) => x === undefined) || tlsRead.some((x) => x === undefined) || (defaultC.exists && !defaultBackend)) return undefined;

  const tls = tlsRead as { tls: IngressTlsSpec; secretRef?: SourceRef }[];
  return {
    spec: {
      namespace: meta.namespace,
      name: meta.name,
      ...(ingressClassName !== undefined ? { ingressClassName } : {}),
      ...(defaultBackend ? { defaultBackend } : {}),
      rules: rules as IngressRuleSpec[],
      tls: tls.map((t) => t.tls),
      source: meta.source,
    },
    secretRefs: tls.map((t) => t.secretRef),
    ...(classRef ? { classRef } : {}),
    annotations: Object.entries(rawAnnotations).map(([key, value]) => ({ key, value, ref: doc.get('metadata').get('annotations').get(key).ref })),
  };
}

/** A controller name: `<domain>/<path>`, e.g. k8s.io/ingress-nginx. */
function controllerProblem(controller: string, where: string): string | undefined {
  const slash = controller.indexOf('/');
  const domain = slash < 0 ? '' : controller.slice(0, slash);
  const path = slash < 0 ? '' : controller.slice(slash + 1);
  if (controller.length <= 250 && domain && !subdomainProblem(domain, '') && /^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(path)) return undefined;
  return `${where} '${controller}' must be a domain-prefixed path of at most 250 characters, such as ${INGRESS_NGINX.controller}`;
}

/** IngressClass is cluster-scoped: a metadata.namespace is ignored, as the API server ignores it. */
export function readIngressClass(doc: Cursor, r: Reader, notices: Notices): IngressClassSpec | undefined {
  r.strict(doc, TOP_FIELDS, 'an IngressClass');
  const meta = doc.get('metadata');
  if (!r.map(meta, 'IngressClass metadata')) {
    if (!meta.exists) r.add('missing-field', doc.ref, 'IngressClass needs metadata.name');
    return undefined;
  }
  const nameC = meta.get('name');
  if (!r.required(nameC, 'IngressClass metadata.name')) return undefined;
  const name = r.string(nameC, 'IngressClass metadata.name');
  if (name === undefined) return undefined;
  const nameProblem = subdomainProblem(name, 'IngressClass name');
  if (nameProblem) r.add('bad-name', nameC.ref, nameProblem);
  const what = `IngressClass ${name}`;
  const spec = doc.get('spec');
  if (!r.map(spec, `${what}: spec`)) {
    if (!spec.exists) r.add('missing-field', doc.ref, `${what} needs spec.controller, e.g. spec: {controller: ${INGRESS_NGINX.controller}}`);
    return undefined;
  }
  r.strict(spec, ['controller', 'parameters'], `${what}: spec`);
  const controllerC = spec.get('controller');
  r.required(controllerC, `${what}: spec.controller`, `, e.g. controller: ${INGRESS_NGINX.controller}`);
  const controller = r.string(controllerC, `${what}: spec.controller`);
  const problem = controller === undefined ? undefined : controllerProblem(controller, `${what}: spec.controller`);
  if (problem) r.add('bad-value', controllerC.ref, problem);
  if (spec.get('parameters').exists) notices.about(what, spec.keyRef('parameters'), 'spec.parameters has no effect: the lab configures its ingress-nginx itself');
  const isDefault = (r.stringMap(meta.get('annotations'), `${what}: metadata.annotations`) ?? {})[DEFAULT_CLASS_ANNOTATION] === 'true';
  if (controller === undefined || problem || nameProblem) return undefined;
  if (name === INGRESS_NGINX.className && controller !== INGRESS_NGINX.controller) {
    r.add('bad-value', controllerC.ref, `${what}: the lab installs IngressClass ${name} itself, for its ingress-nginx (controller ${INGRESS_NGINX.controller}); give your class another name or that controller`);
    return undefined;
  }
  return { name, controller, isDefault, source: doc.ref };
}

/** Base64 as the API server accepts it in Secret data; whitespace (folded YAML) is dropped first. */
function decodeBase64(text: string): string | undefined {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return undefined;
  return Buffer.from(clean, 'base64').toString('utf8');
}

/** True for a Secret document the TLS reader takes; every other Secret is an ignored kind. */
export function isTlsSecret(doc: Cursor): boolean {
  return doc.get('type').value === TLS_TYPE;
}

/**
 * A `kubernetes.io/tls` Secret: `tls.crt` and `tls.key` from `data`
 * (base64) or `stringData` (plain, and winning over `data`, as the API
 * server merges them), each holding the PEM block it must.
 */
export function readTlsSecret(doc: Cursor, ctx: WorkloadContext): TlsSecretSpec | undefined {
  const { r } = ctx;
  r.strict(doc, ['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData', 'immutable'], 'a Secret');
  const meta = readNamespacedMeta(doc, 'Secret', ctx);
  if (!meta) return undefined;
  const what = `Secret ${keyOf(meta)}`;
  const read = (key: 'tls.crt' | 'tls.key'): string | undefined => {
    const plain = doc.get('stringData').get(key);
    if (plain.exists) return r.string(plain, `${what}: stringData.${key}`);
    const encoded = doc.get('data').get(key);
    if (!encoded.exists) {
      r.add('missing-field', doc.ref, `${what} of type ${TLS_TYPE} needs data.${key} (base64 of the PEM file) or stringData.${key} (the PEM text)`);
      return undefined;
    }
    const text = r.string(encoded, `${what}: data.${key}`);
    const decoded = text === undefined ? undefined : decodeBase64(text);
    if (text !== undefined && decoded === undefined) r.add('bad-value', encoded.ref, `${what}: data.${key} is not base64; encode the PEM file (base64 -w0 ${key}) or put the PEM text under stringData.${key}`);
    return decoded;
  };
  r.map(doc.get('data'), `${what}: data`);
  r.map(doc.get('stringData'), `${what}: stringData`);
  const cert = read('tls.crt');
  const key = read('tls.key');
  const pemProblem = (text: string | undefined, name: string, block: RegExp, label: string) => {
    if (text === undefined || block.test(text)) return false;
    const c = doc.get('stringData').get(name).exists ? doc.get('stringData').get(name) : doc.get('data').get(name);
    r.add('bad-value', c.ref, `${what}: ${name} holds no PEM '-----BEGIN ${label}-----' block; it must be the ${name === 'tls.crt' ? 'certificate' : 'private key'} in PEM form`);
    return true;
  };
  const badCert = pemProblem(cert, 'tls.crt', /-----BEGIN CERTIFICATE-----/, 'CERTIFICATE');
  const badKey = pemProblem(key, 'tls.key', /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, 'PRIVATE KEY');
  if (cert === undefined || key === undefined || badCert || badKey) return undefined;
  return { namespace: meta.namespace, name: meta.name, cert, key, source: meta.source };
}

/**
 * Checks across objects: names unique, TLS secrets present in the
 * Ingress's namespace, at most one default class when an Ingress relies on
 * it, and a notice for each Ingress no controller of the lab serves.
 * Backend Services need not exist: ingress-nginx answers 503 for them.
 */
export function checkIngresses(ingresses: readonly ReadIngress[], classes: readonly IngressClassSpec[], secrets: readonly TlsSecretSpec[], r: Reader, notices: Notices): void {
  const unique = <T>(items: readonly T[], key: (x: T) => string, source: (x: T) => SourceRef, kind: string) => {
    const seen = new Map<string, SourceRef>();
    for (const x of items) {
      const before = seen.get(key(x));
      if (before) r.add('duplicate', source(x), `${kind} ${key(x)} is declared twice (first at ${at(before)})`);
      else seen.set(key(x), source(x));
    }
  };
  unique(ingresses, (i) => keyOf(i.spec), (i) => i.spec.source, 'Ingress');
  unique(classes, (c) => c.name, (c) => c.source, 'IngressClass');
  unique(secrets, keyOf, (s) => s.source, 'Secret');

  const secretKeys = new Set(secrets.map(keyOf));
  for (const { spec, secretRefs } of ingresses) {
    spec.tls.forEach((tls, i) => {
      if (tls.secretName === undefined || secretKeys.has(`${spec.namespace}/${tls.secretName}`)) return;
      r.add(
        'bad-value',
        secretRefs[i] ?? spec.source,
        `Ingress ${keyOf(spec)}: spec.tls secretName '${tls.secretName}' names no Secret of type ${TLS_TYPE} in namespace ${spec.namespace}; add one (kubectl create secret tls ${tls.secretName} --cert=... --key=... --dry-run=client -o yaml), or leave secretName out to have the lab make a certificate`,
      );
    });
  }

  const defaults = classes.filter((c) => c.isDefault);
  const served = servedClasses(classes);
  for (const ing of ingresses) {
    const { spec, classRef } = ing;
    const what = `Ingress ${keyOf(spec)}`;
    if (spec.ingressClassName === undefined && defaults.length > 1) {
      r.add('bad-value', spec.source, `${what} has no ingressClassName, and ${defaults.length} IngressClasses are marked default (${defaults.map((c) => `${c.name} at ${at(c.source)}`).join(', ')}); Kubernetes refuses it then: mark one class default or set spec.ingressClassName`);
      continue;
    }
    if (isServed(spec, served)) {
      const parsed = readNginxAnnotations(ing.annotations, what, r, notices);
      if (Object.keys(parsed).length) spec.annotations = parsed;
      continue;
    }
    const className = spec.ingressClassName ?? served.defaultClass;
    const classDoc = classes.find((c) => c.name === className);
    const why = classDoc
      ? `its class ${className} belongs to controller ${classDoc.controller}`
      : `no IngressClass ${className} exists`;
    notices.about(what, classRef ?? spec.source, `no controller in this lab serves it (${why}; the lab's ingress-nginx serves class ${INGRESS_NGINX.className} and classes with controller ${INGRESS_NGINX.controller}); it has no effect`);
  }
  const servedSpecs = ingresses.map((i) => i.spec).filter((i) => isServed(i, served));
  regexHostProblems(servedSpecs, r);
  canaryNotices(servedSpecs, notices);
}

const REGEX_SPECIAL = /[()*+$?|[\]{}^\\]/;

/**
 * On a host where one Ingress uses use-regex or rewrite-target, ingress-nginx
 * makes every path of every Ingress a regular expression; a plain path with
 * regex characters (`/c++`, `/a(b`) would then mean something else or stop
 * nginx. ingress-nginx's path validation refuses them; so does the lab.
 */
function regexHostProblems(served: readonly IngressSpec[], r: Reader): void {
  const usesRegex = (i: IngressSpec, path: string) => i.annotations?.useRegex === true || (i.annotations?.rewriteTarget !== undefined && i.annotations.rewriteTarget !== '' && i.annotations.rewriteTarget !== path);
  const regexHosts = new Map<string, IngressSpec>();
  for (const i of served) for (const rule of i.rules) if (rule.host !== undefined && rule.paths.some((p) => usesRegex(i, p.path))) regexHosts.set(rule.host, regexHosts.get(rule.host) ?? i);
  for (const i of served) {
    for (const rule of i.rules) {
      const by = rule.host === undefined ? undefined : regexHosts.get(rule.host);
      if (!by || by === i) continue;
      for (const p of rule.paths) {
        if (!REGEX_SPECIAL.test(p.path)) continue;
        r.add('bad-value', i.source, `Ingress ${keyOf(i)}: path '${p.path}' of host ${rule.host} has regular-expression characters, and Ingress ${keyOf(by)} makes every path of that host a regular expression (use-regex or rewrite-target), as ingress-nginx does; write the path without ( ) * + $ ? | [ ] { } ^ \\`);
      }
    }
  }
}

/**
 * A canary Ingress adds no locations: each of its paths joins the main
 * Ingress's location with the same host and path. One that finds none does
 * nothing in ingress-nginx, which says so only in its log; the lab says it.
 */
function canaryNotices(served: readonly IngressSpec[], notices: Notices): void {
  const mains = served.filter((i) => !i.annotations?.canary);
  for (const canary of served.filter((i) => i.annotations?.canary)) {
    for (const rule of canary.rules) {
      for (const p of rule.paths) {
        const found = mains.some((m) => m.rules.some((mr) => mr.host === rule.host && mr.paths.some((mp) => mp.path === p.path && mp.pathType === p.pathType)));
        if (!found) {
          notices.about(`Ingress ${keyOf(canary)}`, canary.source, `canary path ${rule.host ?? '*'}${p.path} matches no path of a main (non-canary) Ingress with the same host, path and pathType; ingress-nginx ignores it, so it has no effect`);
        }
      }
    }
    if (canary.defaultBackend) notices.about(`Ingress ${keyOf(canary)}`, canary.source, 'a canary\'s spec.defaultBackend is not modelled by the lab; it has no effect');
  }
}
