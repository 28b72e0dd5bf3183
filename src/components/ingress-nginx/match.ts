/**
 * The reference matcher: which backend an Ingress controller following the
 * Kubernetes rules sends a request to. It is the specification the rendered
 * nginx.conf is tested against, and what checks can predict answers with.
 *
 * The rules (docs "Path types", "Multiple matches", "Hostname wildcards",
 * `networking/v1` type comments, the controller conformance suite):
 *  - host first, then path. The Host header is compared lower-cased, without
 *    its port and without a trailing dot (nginx does the same). A precise host
 *    beats a wildcard `*.foo.com`, which matches exactly one label; rules
 *    without a host serve every request whose host no rule names.
 *  - the path is the request target before the first '?' or '#'.
 *    `Exact` compares it whole and case-sensitively; `Prefix` compares it
 *    element by element, ignoring a trailing '/' of the rule path.
 *    `ImplementationSpecific` is treated as `Prefix` here. (ingress-nginx
 *    renders it as a plain string-prefix location, so there `/foo` also
 *    matches `/foobar`; the lab keeps to the element-wise rule so one meaning
 *    holds for both path types.)
 *  - the longest matching path (as written, so `/foo/` beats `/foo`) wins;
 *    at equal length `Exact` beats `Prefix`; what still ties goes to the rule
 *    seen first. Rules for one host merge across Ingress objects, in input
 *    order, as ingress-nginx merges them into one server.
 *  - once the host is chosen, only its rules count: a host with rules but no
 *    matching path does not fall back to the host-less rules (ingress-nginx
 *    puts those only into its default server). Unmatched requests go to the
 *    default backend: `spec.defaultBackend` of the first Ingress (input
 *    order) that has one, else none, which is HTTP 404.
 *
 * Request paths are taken as given: nginx also decodes %XX escapes, resolves
 * `.`/`..` segments and merges `//` before matching, so callers pass paths
 * already in that form.
 */
import type { IngressBackendSpec, IngressPathSpec, IngressSpec } from '../../spec/ingress.js';

export interface IngressRequest {
  /** The Host header (or the URL's authority), port and case as sent. */
  host: string;
  /** The request target: path, optionally with `?query` and `#fragment`. */
  path: string;
}

export interface IngressMatch {
  /** The Ingress whose rule matched, or whose defaultBackend took the request. */
  ingress: IngressSpec;
  backend: IngressBackendSpec;
  /** The rule and path that matched; absent when the default backend answered. */
  rule?: { host?: string; path: IngressPathSpec };
}

/** A path of some rule, with what is needed to rank it against the others of its host. */
export interface PathCandidate {
  ingress: IngressSpec;
  host?: string;
  path: IngressPathSpec;
  /** Position in input order (Ingress, rule, path): the last tie-breaker. */
  order: number;
}

/** `Host: Foo.Example.com.:8080` -> `foo.example.com`. */
export function requestHost(header: string): string {
  return header
    .trim()
    .toLowerCase()
    .replace(/:\d*$/, '')
    .replace(/\.$/, '');
}

/** The part of a request target that paths are matched against. */
export function requestPath(target: string): string {
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

/** A Prefix path without its trailing '/', the form its elements are compared in; `/` stays `/`. */
export function prefixBase(path: string): string {
  const base = path.replace(/\/+$/, '');
  return base === '' ? '/' : base;
}

export function isExact(p: IngressPathSpec): boolean {
  return p.pathType === 'Exact';
}

export function pathMatches(p: IngressPathSpec, reqPath: string): boolean {
  if (isExact(p)) return reqPath === p.path;
  const base = prefixBase(p.path);
  return base === '/' || reqPath === base || reqPath.startsWith(`${base}/`);
}

/** Negative when `a` wins over `b` (both matching the same request): longer, then Exact, then earlier. */
export function comparePaths(a: PathCandidate, b: PathCandidate): number {
  return b.path.path.length - a.path.path.length || Number(isExact(b.path)) - Number(isExact(a.path)) || a.order - b.order;
}

/** `*.foo.com` matches `bar.foo.com`, not `foo.com` nor `a.bar.foo.com`. */
export function wildcardMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return false;
  const suffix = pattern.slice(1);
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

/**
 * Every path of every rule, grouped by rule host (`undefined` for host-less
 * rules), hosts in the order first seen. A host whose rules have no paths
 * is still present: it is matched, and then falls to the default backend.
 */
export function rulesByHost(ingresses: readonly IngressSpec[]): Map<string | undefined, PathCandidate[]> {
  const hosts = new Map<string | undefined, PathCandidate[]>();
  let order = 0;
  for (const ingress of ingresses) {
    for (const rule of ingress.rules) {
      const list = hosts.get(rule.host) ?? [];
      hosts.set(rule.host, list);
      for (const path of rule.paths) list.push({ ingress, ...(rule.host !== undefined ? { host: rule.host } : {}), path, order: order++ });
    }
  }
  return hosts;
}

/** The rule set a request host falls into: its precise host, else the one wildcard matching it, else the host-less rules. */
export function selectHost(hosts: ReadonlyMap<string | undefined, PathCandidate[]>, host: string): PathCandidate[] | undefined {
  const precise = hosts.get(host);
  if (precise) return precise;
  for (const [pattern, paths] of hosts) {
    if (pattern !== undefined && wildcardMatches(pattern, host)) return paths;
  }
  return hosts.get(undefined);
}

/** The backend for requests no rule takes: the first Ingress's `spec.defaultBackend`, input order. */
export function defaultBackend(ingresses: readonly IngressSpec[]): { ingress: IngressSpec; backend: IngressBackendSpec } | undefined {
  const ingress = ingresses.find((i) => i.defaultBackend !== undefined);
  return ingress && { ingress, backend: ingress.defaultBackend! };
}

/**
 * Where `req` goes among `ingresses` (the ones the controller serves, in
 * input order); undefined means HTTP 404.
 */
export function matchIngress(ingresses: readonly IngressSpec[], req: IngressRequest): IngressMatch | undefined {
  const candidates = selectHost(rulesByHost(ingresses), requestHost(req.host)) ?? [];
  const path = requestPath(req.path);
  const best = candidates.filter((c) => pathMatches(c.path, path)).sort(comparePaths)[0];
  if (best) {
    return { ingress: best.ingress, backend: best.path.backend, rule: { ...(best.host !== undefined ? { host: best.host } : {}), path: best.path } };
  }
  return defaultBackend(ingresses);
}
