/**
 * Ingress objects (`networking.k8s.io/v1`) as the config layer hands them
 * to the planner and the ingress controller: validated, defaulted, still in
 * the user's terms (service names and ports, not addresses).
 */
import type { SourceRef } from './lab.js';

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** `backend.service`: a Service of the Ingress's namespace and one of its ports, by number or by name. */
export interface IngressBackendSpec {
  service: string;
  port: { number: number } | { name: string };
}

export interface IngressPathSpec {
  /** Starts with `/`. */
  path: string;
  pathType: PathType;
  backend: IngressBackendSpec;
}

export interface IngressRuleSpec {
  /** Absent: the rule applies to every host. `*.example.com` wildcards match exactly one label. Lower case. */
  host?: string;
  paths: IngressPathSpec[];
}

export interface IngressTlsSpec {
  /** Lower case; may hold wildcards. */
  hosts: string[];
  /** A `kubernetes.io/tls` Secret of the Ingress's namespace; absent: the lab generates the certificate. */
  secretName?: string;
}

/** `nginx.ingress.kubernetes.io/backend-protocol` values the lab's test server can answer. */
export type BackendProtocol = 'HTTP' | 'HTTPS' | 'GRPC' | 'GRPCS' | 'AUTO_HTTP';

/** How a canary Ingress shares its main Ingress's traffic; header, then cookie, then weight decide. */
export interface CanarySpec {
  /** Out of `weightTotal`; 0 when not set. */
  weight: number;
  weightTotal: number;
  header?: string;
  /** With `header`: this exact value routes to the canary; any other value falls through to cookie and weight. */
  headerValue?: string;
  /** With `header` and no `headerValue`: a PCRE the value must match. */
  headerPattern?: string;
  cookie?: string;
}

/**
 * The `nginx.ingress.kubernetes.io/*` annotations the lab's ingress-nginx
 * follows, parsed and validated; absent fields keep ingress-nginx's defaults.
 */
export interface NginxAnnotations {
  /** `service-upstream: "true"`: proxy to the ClusterIP (kube-proxy picks the pod) instead of the endpoints. */
  serviceUpstream?: boolean;
  /** `rewrite-target`: the URI the backend gets, with `$1`... from the path regex. */
  rewriteTarget?: string;
  useRegex?: boolean;
  /** Default true: plain HTTP to a host with a certificate gets a 308 to HTTPS. */
  sslRedirect?: boolean;
  forceSslRedirect?: boolean;
  backendProtocol?: BackendProtocol;
  /** `app-root`: `/` answers 302 to this path. */
  appRoot?: string;
  /** `temporal-redirect` (winning) or `permanent-redirect`, with its code. */
  redirect?: { url: string; code: number };
  /** `allowlist-source-range` (or the older `whitelist-source-range`): CIDRs, others get 403. */
  allowlist?: string[];
  /** `denylist-source-range`: CIDRs that get 403. */
  denylist?: string[];
  /** `canary: "true"` with its rules; the Ingress then adds no locations of its own. */
  canary?: CanarySpec;
  /** `affinity: cookie`: the endpoint is kept in a cookie. */
  affinity?: { cookieName: string; cookiePath?: string };
  /** `upstream-hash-by`: consistent hashing of this nginx expression picks the endpoint. */
  upstreamHashBy?: string;
  /** `proxy-body-size`, as nginx's client_max_body_size takes it (`8m`, `0` for no limit). */
  proxyBodySize?: string;
}

export interface IngressSpec {
  namespace: string;
  name: string;
  /** Parsed `nginx.ingress.kubernetes.io/*` annotations of an Ingress the lab serves; absent: none. */
  annotations?: NginxAnnotations;
  /** `spec.ingressClassName`; absent: the default IngressClass's ingresses (see `IngressClassSpec.isDefault`). */
  ingressClassName?: string;
  defaultBackend?: IngressBackendSpec;
  rules: IngressRuleSpec[];
  tls: IngressTlsSpec[];
  source: SourceRef;
}

export interface IngressClassSpec {
  name: string;
  /** `spec.controller`, e.g. `k8s.io/ingress-nginx`. */
  controller: string;
  /** Annotation `ingressclass.kubernetes.io/is-default-class: "true"`. */
  isDefault: boolean;
  source: SourceRef;
}

/** A `kubernetes.io/tls` Secret: PEM texts decoded from `data` (base64) or taken from `stringData`. */
export interface TlsSecretSpec {
  namespace: string;
  name: string;
  cert: string;
  key: string;
  source: SourceRef;
}

/** The controller the lab runs, and the class name it answers to. */
export const INGRESS_NGINX = {
  controller: 'k8s.io/ingress-nginx',
  className: 'nginx',
  namespace: 'ingress-nginx',
  deployment: 'ingress-nginx-controller',
  service: 'ingress-nginx-controller',
  replicas: 2,
  labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } as Readonly<Record<string, string>>,
  container: 'controller',
  httpPort: 80,
  httpsPort: 443,
  /** ingress-nginx's health endpoint, /healthz on 10254. */
  healthPort: 10254,
  /** Loopback only: the internal server answering 503 for a backend without a ready endpoint. */
  internalPort: 8181,
} as const;

/** The classes the lab's ingress-nginx serves, and the default class's name. */
export function servedClasses(classes: readonly IngressClassSpec[]): { served: Set<string>; defaultClass: string } {
  const served = new Set<string>([INGRESS_NGINX.className, ...classes.filter((c) => c.controller === INGRESS_NGINX.controller).map((c) => c.name)]);
  // The lab's own class is the default unless the file marks one; several marked defaults are refused by checkIngresses.
  const defaultClass = classes.find((c) => c.isDefault)?.name ?? INGRESS_NGINX.className;
  return { served, defaultClass };
}

export function isServed(i: IngressSpec, classes: ReturnType<typeof servedClasses>): boolean {
  return classes.served.has(i.ingressClassName ?? classes.defaultClass);
}

/**
 * The Ingresses the lab's ingress-nginx serves, in input order: class
 * `nginx` (the lab's own IngressClass) or a class of the file with
 * controller k8s.io/ingress-nginx; an Ingress without a class when the
 * default class is one of those.
 */
export function servedIngresses(spec: { ingresses: readonly IngressSpec[]; ingressClasses: readonly IngressClassSpec[] }): IngressSpec[] {
  const classes = servedClasses(spec.ingressClasses);
  return spec.ingresses.filter((i) => isServed(i, classes));
}
