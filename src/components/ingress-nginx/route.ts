/**
 * What the lab's nginx does with one request, from the planned servers
 * (servers.ts), in nginx's order: the server by host, the location, then
 * the location's rewrite-phase directives (app-root, redirect, ssl-redirect,
 * rewrite), access (allow/deny), the body-size limit, and the upstream
 * with its canary. `verify` predicts P8 answers with it, and the loopback
 * tests hold it against the real nginx.
 */
import { inCidr } from '../../util/addresses.js';
import type { NginxAnnotations } from '../../spec/ingress.js';
import { requestHost, requestPath, wildcardMatches } from './match.js';
import { needsRewrite, type LocationPlan, type ServerPlan, type UpstreamRef } from './servers.js';

export interface RouteRequest {
  scheme: 'http' | 'https';
  /** The Host header as sent. */
  host: string;
  /** Path and query, already normalised as nginx normalises (`$uri` plus `?args`). */
  target: string;
  /** The client address nginx sees. */
  clientIP?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  bodyBytes?: number;
}

export type RouteOutcome =
  | { kind: 'redirect'; status: number; location: string; why: string }
  | { kind: 'nginx'; status: number; why: string }
  | {
      kind: 'proxy';
      upstream: UpstreamRef;
      /** `yes`: the canary's backend; `maybe`: decided by weight. */
      canary: 'no' | 'yes' | 'maybe';
      canaryUpstream?: UpstreamRef;
      /** The URI the backend gets (path and query). */
      uri: string;
      protocol: NonNullable<NginxAnnotations['backendProtocol']>;
      location: LocationPlan;
    };

/** The server a request host lands on: its own, the one wildcard matching it, else the default server. */
export function serverFor(servers: readonly ServerPlan[], host: string): ServerPlan {
  const h = requestHost(host);
  return servers.find((s) => s.host === h) ?? servers.find((s) => s.host !== undefined && wildcardMatches(s.host, h)) ?? servers.find((s) => s.host === undefined)!;
}

function regexOf(path: string): RegExp {
  return new RegExp(`^${path}`, 'i');
}

/** nginx's choice among a server's locations for `uri`. */
export function locationFor(server: ServerPlan, uri: string): LocationPlan | undefined {
  if (server.regex) return server.locations.find((l) => regexOf(l.match.path).test(uri));
  const exact = server.locations.find((l) => l.match.kind === 'exact' && l.match.path === uri);
  if (exact) return exact;
  return server.locations
    .filter((l) => l.match.kind === 'prefix' && uri.startsWith(l.match.path))
    .sort((a, b) => b.match.path.length - a.match.path.length)[0];
}


/** nginx's `rewrite` replacement: `$1`..`$9` from the match; the original arguments follow unless the replacement has its own. */
export function rewriteUri(pattern: string, target: string, uri: string, args: string): string {
  const m = new RegExp(pattern, 'i').exec(uri);
  if (!m) return args ? `${uri}?${args}` : uri;
  const replaced = target.replace(/\$(\d)/g, (_, d: string) => m[Number(d)] ?? '');
  if (replaced.includes('?')) return replaced.endsWith('?') ? replaced.slice(0, -1) : `${replaced}${args ? `&${args}` : ''}`;
  return args ? `${replaced}?${args}` : replaced;
}

function expand(url: string, req: RouteRequest): string {
  const host = requestHost(req.host);
  return url.replace(/\$(request_uri|host|scheme|uri)\b/g, (_, v: string) => (v === 'request_uri' ? req.target : v === 'host' ? host : v === 'scheme' ? req.scheme : requestPath(req.target)));
}

function canaryDecision(spec: NonNullable<LocationPlan['canary']>['spec'], req: RouteRequest): 'yes' | 'no' | 'maybe' {
  const header = spec.header === undefined ? undefined : Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === spec.header!.toLowerCase())?.[1];
  if (header !== undefined) {
    if (spec.headerValue !== undefined) {
      if (header === spec.headerValue) return 'yes';
    } else if (spec.headerPattern !== undefined) {
      if (new RegExp(spec.headerPattern).test(header)) return 'yes';
    } else if (header === 'always') return 'yes';
    else if (header === 'never') return 'no';
  }
  const cookie = spec.cookie === undefined ? undefined : cookiesOf(req)[spec.cookie];
  if (cookie === 'always') return 'yes';
  if (cookie === 'never') return 'no';
  const share = canaryShare(spec);
  if (share <= 0) return 'no';
  return share >= 1 ? 'yes' : 'maybe';
}

/**
 * The share of requests weight sends to the canary: out of 100, or of
 * weight-total when larger (as ingress-nginx's balancer counts); shares
 * below nginx's 0.01% resolution count as none.
 */
export function canaryShare(spec: { weight: number; weightTotal: number }): number {
  const share = spec.weight / Math.max(100, spec.weightTotal);
  return share < 0.0001 ? 0 : Math.min(share, 1);
}

/** The request's cookies: `cookies`, and those of a Cookie header. */
function cookiesOf(req: RouteRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) {
    if (k.toLowerCase() !== 'cookie') continue;
    for (const pair of v.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
  }
  return { ...out, ...req.cookies };
}

/** `8m` -> bytes; `0` is no limit. */
export function bodyLimit(size: string | undefined): number {
  if (size === undefined) return 1024 * 1024;
  const n = Number(size.replace(/[kKmMgG]$/, ''));
  const unit = /[kK]$/.test(size) ? 1024 : /[mM]$/.test(size) ? 1024 ** 2 : /[gG]$/.test(size) ? 1024 ** 3 : 1;
  return n === 0 ? Infinity : n * unit;
}

export function routeRequest(servers: readonly ServerPlan[], req: RouteRequest): RouteOutcome {
  const server = serverFor(servers, req.host);
  const uri = requestPath(req.target);
  const q = req.target.indexOf('?');
  const args = q < 0 ? '' : req.target.slice(q + 1).split('#')[0]!;
  // app-root is a server-level `if`: it runs before any location is chosen.
  if (server.appRoot !== undefined && uri === '/') return { kind: 'redirect', status: 302, location: `${req.scheme}://${req.host}${server.appRoot}`, why: `app-root ${server.appRoot}` };
  const loc = locationFor(server, uri);
  if (!loc) return { kind: 'nginx', status: 404, why: 'no location' };
  const a = loc.annotations;
  // nginx checks Content-Length against client_max_body_size as soon as the location is found, before rewrites and access.
  if ((req.bodyBytes ?? 0) > bodyLimit(a.proxyBodySize)) return { kind: 'nginx', status: 413, why: `body larger than proxy-body-size ${a.proxyBodySize ?? '1m'}` };
  if (a.redirect) return { kind: 'redirect', status: a.redirect.code, location: expand(a.redirect.url, req), why: `redirect to ${a.redirect.url}` };
  const redirects = a.forceSslRedirect === true || (a.sslRedirect !== false && server.tls !== undefined);
  if (req.scheme === 'http' && redirects) {
    const target = req.target.endsWith('/') ? req.target.slice(0, -1) : req.target;
    return { kind: 'redirect', status: 308, location: `https://${requestHost(req.host)}${target}`, why: a.forceSslRedirect ? 'force-ssl-redirect' : 'ssl-redirect' };
  }
  let backendUri = args ? `${uri}?${args}` : uri;
  if (loc.rule && needsRewrite(a, loc.rule.path.path)) backendUri = rewriteUri(loc.match.path, a.rewriteTarget!, uri, args);
  if (req.clientIP !== undefined) {
    if (a.denylist?.some((c) => inCidr(req.clientIP!, c))) return { kind: 'nginx', status: 403, why: 'denylist-source-range' };
    if (a.allowlist && !a.allowlist.some((c) => inCidr(req.clientIP!, c))) return { kind: 'nginx', status: 403, why: `not in allowlist-source-range ${a.allowlist.join(',')}` };
  }
  if (!loc.upstream) return { kind: 'nginx', status: 404, why: 'no rule and no default backend' };
  const canary = loc.canary ? canaryDecision(loc.canary.spec, req) : 'no';
  return {
    kind: 'proxy',
    upstream: loc.upstream,
    canary,
    ...(loc.canary ? { canaryUpstream: loc.canary.upstream } : {}),
    uri: backendUri,
    protocol: a.backendProtocol ?? 'HTTP',
    location: loc,
  };
}
