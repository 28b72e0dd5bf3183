/**
 * The annotations of an Ingress the lab's ingress-nginx serves, read with
 * ingress-nginx's meaning (`internal/ingress/annotations/*`): the ones that
 * shape traffic are parsed and validated here; every other
 * `nginx.ingress.kubernetes.io/*` key, and the keys of other controllers,
 * become one notice per Ingress; snippets, ssl-passthrough and backend
 * protocols the lab cannot answer are refused with the reason. Values go
 * into nginx.conf, so each is checked against what nginx would read as
 * something else (quotes, `;`, braces, white space).
 */
import { isIPv6 } from 'node:net';
import { IPv4CidrRange, Validator } from '../util/ip-num.js';
import type { BackendProtocol, CanarySpec, NginxAnnotations } from '../spec/ingress.js';
import type { SourceRef } from '../spec/lab.js';
import type { Reader } from './fields.js';
import type { Notices } from './notices.js';

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

/** One annotation as written, with where. */
export interface RawAnnotation {
  key: string;
  value: string;
  ref: SourceRef;
}

/** Annotation prefixes of other Ingress controllers (their own docs); any prefix naming "ingress" counts too. */
const FOREIGN_PREFIXES = ['nginx.org/', 'haproxy.org/', 'haproxy.router.openshift.io/', 'route.openshift.io/', 'konghq.com/', 'projectcontour.io/', 'getambassador.io/', 'traefik.io/', 'zalando.org/', 'cloud.google.com/', 'networking.gke.io/'];
/** Annotations about Ingresses that are not another controller's (the class, the default class). */
const GENERIC = new Set(['kubernetes.io/ingress.class', 'ingressclass.kubernetes.io/is-default-class', 'kubectl.kubernetes.io/last-applied-configuration']);

const BACKEND_PROTOCOLS: readonly BackendProtocol[] = ['HTTP', 'HTTPS', 'GRPC', 'GRPCS', 'AUTO_HTTP'];

/** The keys read here, without the prefix; everything else under the prefix is "not modelled". */
const MODELLED = new Set([
  'service-upstream',
  'rewrite-target',
  'use-regex',
  'ssl-redirect',
  'force-ssl-redirect',
  'backend-protocol',
  'app-root',
  'permanent-redirect',
  'permanent-redirect-code',
  'temporal-redirect',
  'temporal-redirect-code',
  'whitelist-source-range',
  'allowlist-source-range',
  'denylist-source-range',
  'canary',
  'canary-weight',
  'canary-weight-total',
  'canary-by-header',
  'canary-by-header-value',
  'canary-by-header-pattern',
  'canary-by-cookie',
  'affinity',
  'session-cookie-name',
  'session-cookie-path',
  'upstream-hash-by',
  'proxy-body-size',
  'ssl-passthrough',
]);

/** Characters that would end or escape a quoted nginx string, or a directive. */
const UNSAFE = /["\\\s;{}]/;
/** A header name: an HTTP token without '_' (nginx drops headers with underscores by default). */
const HEADER = /^[A-Za-z0-9-]+$/;
const COOKIE = /^[A-Za-z0-9_.-]+$/;
/** A URI path nginx and browsers take as is: letters, digits and the RFC 3986 path characters. */
const URL_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
/** What upstream-hash-by takes: nginx variables and the characters that join them. */
const HASH_BY = /^(?:\$[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9_\-.:/])+$/;
const BODY_SIZE = /^\d+[kKmMgG]?$/;
/**
 * nginx variables a value may use: captures, the request's core variables,
 * and the families nginx derives from the request. Anything else would
 * stop nginx at its configuration test.
 */
const CORE_VARIABLES = new Set([
  'request_uri', 'uri', 'document_uri', 'args', 'query_string', 'is_args', 'scheme', 'host', 'http_host', 'hostname', 'server_name', 'server_port',
  'remote_addr', 'binary_remote_addr', 'remote_port', 'request_method', 'request', 'request_id', 'server_addr', 'server_protocol', 'https',
  'best_http_host', 'proxy_add_x_forwarded_for', 'location_path',
]);

/** The first `$name` nginx would not know, if any. */
function unknownVariable(v: string): string | undefined {
  for (const m of v.matchAll(/\$(\{?)([A-Za-z_][A-Za-z0-9_]*|\d)\}?/g)) {
    const name = m[2]!;
    if (/^\d$/.test(name) || CORE_VARIABLES.has(name) || /^(?:http|arg|cookie|sent_http)_\w+$/.test(name)) continue;
    return `$${name}`;
  }
  if (/\$(?![{A-Za-z_0-9])/.test(v)) return '$';
  return undefined;
}

/** `check`, then: no variable nginx would not know. */
const withVariables = (check: (v: string) => string | undefined) => (v: string) => {
  const problem = check(v);
  if (problem) return problem;
  const unknown = unknownVariable(v);
  return unknown ? `uses ${unknown}, which is not an nginx variable; use $1..$9 for captures, or a variable such as $request_uri, $host, $scheme, $http_<header>, $arg_<name>, $cookie_<name>` : undefined;
};

export function isForeignAnnotation(key: string): boolean {
  if (GENERIC.has(key) || key.startsWith(NGINX_PREFIX)) return false;
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash + 1);
  return FOREIGN_PREFIXES.includes(prefix) || prefix.includes('ingress');
}

/** Whether the Ingress asks for regular-expression paths (ingress-nginx's use-regex, which rewrite-target implies). */
export function wantsRegexPaths(raw: Readonly<Record<string, string>>): boolean {
  return raw[`${NGINX_PREFIX}use-regex`] === 'true' || (raw[`${NGINX_PREFIX}rewrite-target`] ?? '') !== '';
}

class AnnotationReader {
  private readonly byKey: Map<string, RawAnnotation>;

  constructor(
    raw: readonly RawAnnotation[],
    private readonly what: string,
    private readonly r: Reader,
  ) {
    this.byKey = new Map(raw.filter((a) => a.key.startsWith(NGINX_PREFIX)).map((a) => [a.key.slice(NGINX_PREFIX.length), a]));
  }

  has(name: string): boolean {
    return this.byKey.has(name);
  }

  ref(name: string): SourceRef | undefined {
    return this.byKey.get(name)?.ref;
  }

  problem(name: string, message: string): undefined {
    const a = this.byKey.get(name);
    this.r.add('bad-value', a?.ref, `${this.what}: annotation ${NGINX_PREFIX}${name}${a ? ` '${a.value}'` : ''} ${message}`);
    return undefined;
  }

  string(name: string, check?: (v: string) => string | undefined): string | undefined {
    const a = this.byKey.get(name);
    if (!a) return undefined;
    const why = check?.(a.value);
    return why ? this.problem(name, why) : a.value;
  }

  bool(name: string): boolean | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (v === 'true' || v === 'false') return v === 'true';
    return this.problem(name, `must be "true" or "false"`);
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (n >= min && n <= max) return n;
    return this.problem(name, `must be a whole number from ${min} to ${max}`);
  }
}

const safe = (what: string) => (v: string) => (v === '' || UNSAFE.test(v) ? `must be ${what}, without quotes, backslashes, spaces, ';' or braces` : undefined);

/** `10.0.0.0/8, 192.168.1.7` -> CIDRs as nginx takes them; host bits are cleared as nginx would (with a warning). */
function sourceRanges(a: AnnotationReader, name: string): string[] | undefined {
  const v = a.string(name);
  if (v === undefined) return undefined;
  const out: string[] = [];
  for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const cidr = item.includes('/') ? item : `${item}/32`;
    if (Validator.isValidIPv4CidrNotation(cidr)[0]) {
      const range = IPv4CidrRange.fromCidr(cidr);
      out.push(`${range.getFirst().toString()}/${cidr.split('/')[1]}`);
    } else if (isIPv6(item.split('/')[0] ?? '') && /^[0-9a-fA-F:.]+(?:\/\d{1,3})?$/.test(item)) {
      out.push(item);
    } else {
      return a.problem(name, `has '${item}', which is neither an IP address nor a CIDR; write a comma-separated list such as 10.0.0.0/8,192.168.1.7`);
    }
  }
  if (out.length === 0) return a.problem(name, 'lists no range; give at least one CIDR, or remove the annotation');
  return out;
}

function readCanary(a: AnnotationReader): CanarySpec | undefined {
  const enabled = a.bool('canary');
  const header = a.string('canary-by-header', (v) => (HEADER.test(v) ? undefined : 'must be an HTTP header name (letters, digits and -)'));
  const spec: CanarySpec = {
    weight: a.int('canary-weight', 0, 1_000_000) ?? 0,
    weightTotal: a.int('canary-weight-total', 1, 1_000_000) ?? 100,
    ...(header !== undefined ? { header } : {}),
  };
  const value = a.string('canary-by-header-value', safe('a header value'));
  const pattern = a.string('canary-by-header-pattern', (v) => {
    if (v === '' || /["\n]/.test(v)) return 'must be a regular expression without double quotes';
    try {
      new RegExp(v);
      return undefined;
    } catch (err) {
      return `is not a regular expression: ${(err as Error).message}`;
    }
  });
  const cookie = a.string('canary-by-cookie', (v) => (COOKIE.test(v) ? undefined : 'must be a cookie name (letters, digits, _ . -)'));
  if (value !== undefined) spec.headerValue = value;
  else if (pattern !== undefined) spec.headerPattern = pattern;
  if (cookie !== undefined) spec.cookie = cookie;
  if ((value !== undefined || pattern !== undefined) && header === undefined) {
    a.problem(value !== undefined ? 'canary-by-header-value' : 'canary-by-header-pattern', `needs ${NGINX_PREFIX}canary-by-header, the header it looks at`);
  }
  const rules = ['canary-weight', 'canary-weight-total', 'canary-by-header', 'canary-by-header-value', 'canary-by-header-pattern', 'canary-by-cookie'].filter((k) => a.has(k));
  if (enabled !== true) {
    // ingress-nginx refuses canary rules without canary: "true" ("configured but not enabled").
    if (rules.length) a.problem(rules[0]!, `is set, but ${NGINX_PREFIX}canary is not "true"; ingress-nginx refuses canary rules on an Ingress that is not a canary`);
    return undefined;
  }
  return spec;
}

function readRedirect(a: AnnotationReader): NginxAnnotations['redirect'] {
  const url = withVariables((v: string) => (/^https?:\/\/[^\s"\\;{}]+$/.test(v) ? undefined : 'must be an absolute http:// or https:// URL (it may use nginx variables such as $request_uri)'));
  const temporal = a.string('temporal-redirect', url);
  if (temporal !== undefined) {
    if (a.has('permanent-redirect')) a.problem('permanent-redirect', `has no effect next to ${NGINX_PREFIX}temporal-redirect, which ingress-nginx applies first; keep one of them`);
    return { url: temporal, code: a.int('temporal-redirect-code', 300, 307) ?? 302 };
  }
  const permanent = a.string('permanent-redirect', url);
  if (permanent !== undefined) return { url: permanent, code: a.int('permanent-redirect-code', 300, 308) ?? 301 };
  return undefined;
}

/**
 * The traffic-shaping annotations of `what`, checked; problems go to `r`
 * (refused, exit 2), the rest of the annotations become notices.
 */
export function readNginxAnnotations(raw: readonly RawAnnotation[], what: string, r: Reader, notices: Notices): NginxAnnotations {
  const a = new AnnotationReader(raw, what, r);
  const out: NginxAnnotations = {};
  for (const ann of raw) {
    if (!ann.key.startsWith(NGINX_PREFIX)) continue;
    const name = ann.key.slice(NGINX_PREFIX.length);
    if (name.endsWith('-snippet')) {
      r.add('bad-value', ann.ref, `${what}: annotation ${ann.key} is refused: ingress-nginx disables snippet annotations by default (allow-snippet-annotations: false), as they let an Ingress author write any nginx directive; the lab follows that default`);
    }
  }
  if (a.bool('ssl-passthrough') === true) {
    a.problem(
      'ssl-passthrough',
      'is refused: ingress-nginx only passes TLS through when its controller is started with --enable-ssl-passthrough, which the standard install (and the lab) does not do, so a cluster would ignore it; terminate TLS at the Ingress with spec.tls, and use backend-protocol: HTTPS if the backend must get TLS too',
    );
  }
  const setIf = <K extends keyof NginxAnnotations>(key: K, v: NginxAnnotations[K] | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  setIf('serviceUpstream', a.bool('service-upstream'));
  setIf('useRegex', a.bool('use-regex'));
  setIf(
    'rewriteTarget',
    a.string(
      'rewrite-target',
      withVariables((v) =>
        /^(?:https?:\/\/|\$scheme)/.test(v)
          ? 'is an absolute URL, which nginx\'s rewrite answers with a 302 redirect instead of proxying; say so with temporal-redirect or permanent-redirect, or give a path such as /$2'
          : safe('a URI such as /$2')(v),
      ),
    ),
  );
  setIf('sslRedirect', a.bool('ssl-redirect'));
  setIf('forceSslRedirect', a.bool('force-ssl-redirect'));
  const protocol = a.string('backend-protocol');
  if (protocol !== undefined) {
    const p = protocol.toUpperCase();
    if ((BACKEND_PROTOCOLS as readonly string[]).includes(p)) out.backendProtocol = p as BackendProtocol;
    else if (p === 'FCGI') a.problem('backend-protocol', 'is refused: the lab\'s test server does not speak FastCGI; use HTTP, HTTPS, GRPC, GRPCS or AUTO_HTTP');
    else a.problem('backend-protocol', `must be one of ${BACKEND_PROTOCOLS.join(', ')} (ingress-nginx also knows FCGI, which the lab's test server cannot answer)`);
  }
  setIf('appRoot', a.string('app-root', withVariables((v) => (URL_PATH.test(v) && v !== '/' ? undefined : 'must be a path other than / starting with /, such as /app1'))));
  setIf('redirect', readRedirect(a));
  const allow = sourceRanges(a, 'allowlist-source-range');
  const oldAllow = sourceRanges(a, 'whitelist-source-range');
  if (allow && oldAllow && allow.join(',') !== oldAllow.join(',')) {
    a.problem('whitelist-source-range', `differs from ${NGINX_PREFIX}allowlist-source-range, its newer name; keep one of them`);
  }
  setIf('allowlist', allow ?? oldAllow);
  setIf('denylist', sourceRanges(a, 'denylist-source-range'));
  setIf('canary', readCanary(a));
  const affinity = a.string('affinity');
  if (affinity !== undefined && affinity !== 'cookie') a.problem('affinity', 'must be "cookie", the one session affinity ingress-nginx has');
  const cookieName = a.string('session-cookie-name', (v) => (COOKIE.test(v) ? undefined : 'must be a cookie name (letters, digits, _ . -)'));
  const cookiePath = a.string('session-cookie-path', (v) => (URL_PATH.test(v) && !v.includes('$') ? undefined : 'must be a path starting with /, without $'));
  if (affinity === 'cookie') out.affinity = { cookieName: cookieName ?? 'INGRESSCOOKIE', ...(cookiePath !== undefined ? { cookiePath } : {}) };
  else if (cookieName !== undefined || cookiePath !== undefined) a.problem(cookieName !== undefined ? 'session-cookie-name' : 'session-cookie-path', `has no effect without ${NGINX_PREFIX}affinity: cookie`);
  setIf('upstreamHashBy', a.string('upstream-hash-by', withVariables((v) => (HASH_BY.test(v) ? undefined : 'must be nginx variables and plain characters, such as $request_uri or $binary_remote_addr'))));
  if (out.upstreamHashBy !== undefined && out.affinity) a.problem('upstream-hash-by', `cannot be combined with ${NGINX_PREFIX}affinity on one Ingress: both pick the endpoint; keep one`);
  setIf('proxyBodySize', a.string('proxy-body-size', (v) => (BODY_SIZE.test(v) ? undefined : 'must be a size such as 8m, 512k or 0 (no limit)')));

  const other = raw.filter((x) => x.key.startsWith(NGINX_PREFIX) && !MODELLED.has(x.key.slice(NGINX_PREFIX.length)) && !x.key.endsWith('-snippet'));
  if (other.length) {
    notices.about(what, other[0]!.ref, `not modelled by the lab: ${other.map((x) => x.key).join(', ')}; the lab's ingress-nginx serves this Ingress as if ${other.length === 1 ? 'it were' : 'they were'} not set`);
  }
  const foreign = raw.filter((x) => isForeignAnnotation(x.key));
  if (foreign.length) {
    notices.about(what, foreign[0]!.ref, `annotations of another ingress controller, which the lab's ingress-nginx does not read: ${foreign.map((x) => x.key).join(', ')}`);
  }
  return out;
}
