/**
 * The servers and locations ingress-nginx builds from the served Ingresses,
 * as data: the nginx.conf renderer writes them out and `routeRequest`
 * (route.ts) evaluates them the way nginx does, so what verify predicts and
 * what nginx serves come from one structure.
 *
 * Per host, ingress-nginx's rules (`internal/ingress/controller`):
 *  - a host whose Ingresses use `rewrite-target` or `use-regex` is a regex
 *    host: every location of it, from any Ingress, becomes a
 *    case-insensitive regex `~* "^<path>"`, tried longest path first (equal
 *    lengths: reverse lexical order), the first match winning. A Prefix
 *    path of an Ingress without regex is still normalised first (`/p` ->
 *    `/p/` plus `/p`), so there it matches as a string prefix.
 *  - other hosts keep the element-wise Exact/Prefix locations (see
 *    nginx-conf.ts for how they are laid out).
 *  - the location taking what no path takes (the host's `/` when no rule
 *    claims it) carries the annotations of the first Ingress naming the
 *    host, as ingress-nginx's root location does; the lab applies the
 *    access and redirect ones there (not rewrite, canary or balancing,
 *    which need a rule's backend).
 *  - a canary Ingress adds no location: each of its paths joins the
 *    location with the same host and path, as its alternative backend.
 */
import type { CanarySpec, IngressBackendSpec, IngressSpec, IngressTlsSpec, NginxAnnotations } from '../../spec/ingress.js';
import { comparePaths, defaultBackend, isExact, pathMatches, prefixBase, rulesByHost, wildcardMatches, type PathCandidate } from './match.js';

/** A backend as a location sends to it, and how (ClusterIP or endpoints, balancing). */
export interface UpstreamRef {
  namespace: string;
  backend: IngressBackendSpec;
  /** `service-upstream`: the Service's ClusterIP instead of its endpoints. */
  serviceUpstream: boolean;
  hashBy?: string;
}

export type LocationMatch = { kind: 'exact'; path: string } | { kind: 'prefix'; path: string } | { kind: 'regex'; path: string };

export interface LocationPlan {
  match: LocationMatch;
  /** The rule it serves; absent for the default backend (or 404). */
  rule?: PathCandidate;
  /** The annotations that apply: the rule's Ingress, or for the default location the host's first Ingress (access and redirects only). */
  annotations: NginxAnnotations;
  /** Where the requests go; absent: nginx answers 404 (no rule, no default backend). */
  upstream?: UpstreamRef;
  canary?: { ingress: IngressSpec; upstream: UpstreamRef; spec: CanarySpec };
}

export interface ServerPlan {
  /** Absent: the default server (`_`). */
  host?: string;
  regex: boolean;
  /** The tls entry whose certificate this host serves; absent: the default certificate. */
  tls?: { namespace: string; tls: IngressTlsSpec };
  /** `app-root` of a path of this host (the first, in location order): ingress-nginx writes it at server level, so `/` redirects whatever location would take it. */
  appRoot?: string;
  /** In nginx's order of trying: for regex servers exactly that; otherwise sorted for a reader. */
  locations: LocationPlan[];
}

/**
 * The tls entry serving a rule host: one that lists it, or a wildcard of one
 * that matches a precise host; the first in input order.
 */
export function tlsEntryFor(ingresses: readonly IngressSpec[], host: string): { namespace: string; tls: IngressTlsSpec } | undefined {
  const covers = (tls: IngressTlsSpec) => tls.hosts.includes(host) || (!host.startsWith('*.') && tls.hosts.some((h) => wildcardMatches(h, host)));
  for (const ingress of ingresses) {
    const tls = ingress.tls.find(covers);
    if (tls) return { namespace: ingress.namespace, tls };
  }
  return undefined;
}

export const isCanary = (i: IngressSpec): boolean => i.annotations?.canary !== undefined;

/** ingress-nginx rewrites only where the target differs from the path (`needsRewrite`). */
export function needsRewrite(a: NginxAnnotations | undefined, path: string): boolean {
  return a?.rewriteTarget !== undefined && a.rewriteTarget !== '' && a.rewriteTarget !== path;
}

/** A path of this Ingress makes its host a regex host: use-regex, or a rewrite of that path. */
const regexPath = (c: PathCandidate): boolean => c.ingress.annotations?.useRegex === true || needsRewrite(c.ingress.annotations, c.path.path);

function upstreamOf(namespace: string, backend: IngressBackendSpec, a: NginxAnnotations | undefined): UpstreamRef {
  return { namespace, backend, serviceUpstream: a?.serviceUpstream === true, ...(a?.upstreamHashBy !== undefined ? { hashBy: a.upstreamHashBy } : {}) };
}

/** The annotations of a host's first Ingress that the default location takes. */
function defaultLocationAnnotations(a: NginxAnnotations | undefined): NginxAnnotations {
  if (!a) return {};
  const keep: (keyof NginxAnnotations)[] = ['sslRedirect', 'forceSslRedirect', 'redirect', 'allowlist', 'denylist', 'proxyBodySize'];
  return Object.fromEntries(keep.filter((k) => a[k] !== undefined).map((k) => [k, a[k]])) as NginxAnnotations;
}

function ruleLocation(match: LocationMatch, c: PathCandidate): LocationPlan {
  return { match, rule: c, annotations: c.ingress.annotations ?? {}, upstream: upstreamOf(c.ingress.namespace, c.path.backend, c.ingress.annotations) };
}

/** nginx location keys (`= /p`, `/p/`, `/`) a path claims on a host without regex. */
function locationKeys(c: PathCandidate): string[] {
  if (isExact(c.path)) return [`= ${c.path.path}`];
  const base = prefixBase(c.path.path);
  return base === '/' ? ['/'] : [`= ${base}`, `${base}/`];
}

function plainLocations(paths: PathCandidate[], fallback: () => LocationPlan): LocationPlan[] {
  const out = new Map<string, PathCandidate | undefined>();
  for (const c of paths) {
    for (const key of locationKeys(c)) {
      const held = out.get(key);
      if (!held || comparePaths(c, held) < 0) out.set(key, c);
    }
  }
  // nginx answers a request for `/p` with a 301 to `/p/` when a proxying location `/p/` (even `= /p/`) exists and no `= /p` does; give `/p` its own location holding what the matcher picks for it.
  for (const key of [...out.keys()]) {
    if (!key.startsWith('= ') || !key.endsWith('/') || key === '= /') continue;
    const bare = key.slice(2, -1);
    if (!out.has(`= ${bare}`)) out.set(`= ${bare}`, paths.filter((c) => pathMatches(c.path, bare)).sort(comparePaths)[0]);
  }
  const byPath = (key: string): [string, boolean] => (key.startsWith('= ') ? [key.slice(2), true] : [key, false]);
  // Sorted by path, exact before prefix, for a reader; nginx does not care about their order.
  const locations = [...out.entries()]
    .map(([key, c]) => [...byPath(key), c] as const)
    .sort(([a, ax], [b, bx]) => (a < b ? -1 : a > b ? 1 : Number(bx) - Number(ax)))
    .map(([path, exact, c]): LocationPlan => {
      const match: LocationMatch = exact ? { kind: 'exact', path } : { kind: 'prefix', path };
      return c ? ruleLocation(match, c) : { ...fallback(), match };
    });
  if (!out.has('/')) locations.push({ ...fallback(), match: { kind: 'prefix', path: '/' } });
  return locations;
}

function regexLocations(paths: PathCandidate[], fallback: () => LocationPlan): LocationPlan[] {
  const exact = new Set(paths.filter((c) => isExact(c.path)).map((c) => c.path.path));
  const list: { path: string; c: PathCandidate }[] = [];
  for (const c of paths) {
    const p = c.path.path;
    // ingress-nginx normalises the Prefix paths of Ingresses without regex even on a regex host.
    if (c.path.pathType !== 'Prefix' || p === '/' || regexPath(c)) list.push({ path: p, c });
    else {
      list.push({ path: p.endsWith('/') ? p : `${p}/`, c });
      if (!exact.has(p)) list.push({ path: p, c });
    }
  }
  // One location per path: the first Ingress (input order) that wrote it keeps it.
  const seen = new Map<string, PathCandidate>();
  for (const { path, c } of list) if (!seen.has(path)) seen.set(path, c);
  const locations = [...seen.entries()].map(([path, c]) => ruleLocation({ kind: 'regex', path }, c));
  if (!seen.has('/')) locations.push({ ...fallback(), match: { kind: 'regex', path: '/' } });
  // Longest path first, equal lengths in reverse lexical order: the order ingress-nginx sorts them in.
  return locations.sort((a, b) => b.match.path.length - a.match.path.length || (a.match.path < b.match.path ? 1 : a.match.path > b.match.path ? -1 : 0));
}

/** Every canary path joins the locations of its host that serve the same path as written. */
function attachCanaries(servers: ServerPlan[], canaries: readonly IngressSpec[]): void {
  for (const ingress of canaries) {
    const spec = ingress.annotations!.canary!;
    for (const rule of ingress.rules) {
      const server = servers.find((s) => s.host === rule.host);
      for (const p of rule.paths) {
        for (const loc of server?.locations ?? []) {
          // Same path and pathType, as ingress-nginx merges an alternative backend.
          if (loc.rule?.path.path !== p.path || loc.rule.path.pathType !== p.pathType || loc.canary) continue;
          loc.canary = { ingress, upstream: upstreamOf(ingress.namespace, p.backend, ingress.annotations), spec };
        }
      }
    }
  }
}

/** The servers nginx gets: the default server first, then one per rule host in the order first seen. */
export function planServers(ingresses: readonly IngressSpec[]): ServerPlan[] {
  const mains = ingresses.filter((i) => !isCanary(i));
  const hosts = rulesByHost(mains);
  const d = defaultBackend(mains);
  const servers: ServerPlan[] = [];
  const add = (host: string | undefined, paths: PathCandidate[]) => {
    const first = host === undefined ? undefined : mains.find((i) => i.rules.some((r) => r.host === host));
    const fallback = (): LocationPlan => ({
      match: { kind: 'prefix', path: '/' },
      annotations: defaultLocationAnnotations(first?.annotations),
      ...(d ? { upstream: upstreamOf(d.ingress.namespace, d.backend, d.ingress.annotations) } : {}),
    });
    const regex = paths.some(regexPath);
    const tls = host === undefined ? undefined : tlsEntryFor(mains, host);
    const locations = regex ? regexLocations(paths, fallback) : plainLocations(paths, fallback);
    const appRoot = locations.find((l) => l.rule?.ingress.annotations?.appRoot !== undefined)?.rule?.ingress.annotations?.appRoot ?? first?.annotations?.appRoot;
    servers.push({
      ...(host !== undefined ? { host } : {}),
      regex,
      ...(tls ? { tls } : {}),
      ...(appRoot !== undefined ? { appRoot } : {}),
      locations,
    });
  };
  add(undefined, hosts.get(undefined) ?? []);
  for (const [host, paths] of hosts) if (host !== undefined) add(host, paths);
  attachCanaries(servers, ingresses.filter(isCanary));
  return servers;
}

/** Every upstream the locations use, once each, in the order first used. */
export function upstreamsOf(servers: readonly ServerPlan[]): UpstreamRef[] {
  const out = new Map<string, UpstreamRef>();
  for (const s of servers) {
    for (const loc of s.locations) {
      for (const u of [loc.upstream, loc.canary?.upstream]) if (u && !out.has(upstreamKey(u))) out.set(upstreamKey(u), u);
    }
  }
  return [...out.values()];
}

export function upstreamKey(u: UpstreamRef): string {
  const port = 'number' in u.backend.port ? String(u.backend.port.number) : u.backend.port.name;
  return JSON.stringify([u.namespace, u.backend.service, port, u.serviceUpstream, u.hashBy ?? '']);
}
