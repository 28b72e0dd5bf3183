/**
 * The nginx.conf of the lab's ingress controller, rendered from the servers
 * planned in servers.ts so that nginx routes exactly as `routeRequest` says:
 *
 *  - one server per rule host, listening for HTTP and HTTPS (HTTP/2 on
 *    HTTPS, as ingress-nginx does): an exact `server_name` for a precise
 *    host, a regex for a wildcard (nginx's own `*.foo.com` would take any
 *    number of labels, Kubernetes' exactly one). The default server takes
 *    the host-less rules and every request whose host no server names.
 *  - on hosts without regex, an `Exact` path is `location = /p`; a `Prefix`
 *    path `/p` is `location = /p` plus `location /p/`, together the
 *    element-wise match; `/` is `location /`. nginx redirects `/p` to `/p/`
 *    when only a location `/p/` exists, so an `Exact /p/` path gets a
 *    `location = /p` beside it holding what the matcher gives `/p`. On
 *    regex hosts every location is `~* "^path"`, longest first.
 *  - each backend is an `upstream` block: the Service's ready endpoints
 *    (pod IP:targetPort), as ingress-nginx balances by default, or its
 *    ClusterIP with `service-upstream`. One without any answers 503 from an
 *    internal server on loopback, as ingress-nginx answers then.
 *  - a location's annotations in nginx's phase order: app-root, redirect,
 *    ssl-redirect (308 to HTTPS, a trailing '/' dropped, as ingress-nginx's
 *    Lua does), rewrite, then allow/deny, the body size, and the proxy
 *    directive for the backend protocol. Canary and cookie affinity choose
 *    the upstream through `map`s and `split_clients` (ingress-nginx does it
 *    in Lua): header, then cookie, then weight.
 *
 * TLS as ingress-nginx does it: a host with a tls entry answers HTTPS with
 * that entry's certificate; every other server with the default (fake)
 * certificate. tls hosts that no rule names get no server of their own.
 */
import { createHash } from 'node:crypto';
import type { IngressTlsSpec } from '../../spec/ingress.js';
import { shortHash } from '../../model/names.js';
import { canaryShare } from './route.js';
import { needsRewrite, planServers, upstreamKey, upstreamsOf, type LocationPlan, type ServerPlan, type UpstreamRef } from './servers.js';
import type { IngressSpec } from '../../spec/ingress.js';

export { tlsEntryFor } from './servers.js';

export interface NginxCert {
  certFile: string;
  keyFile: string;
}

export interface NginxConfInput {
  /** The Ingresses the controller serves, in input order. */
  ingresses: IngressSpec[];
  /**
   * The `ip:port` servers of an upstream: the ready endpoints, or the
   * ClusterIP and port with `serviceUpstream`. Empty or undefined (no such
   * Service or port): nginx answers 503, as ingress-nginx does.
   */
  upstream(u: UpstreamRef): string[] | undefined;
  /** The certificate serving the hosts of a tls entry of an Ingress in `namespace`. */
  cert(namespace: string, tls: IngressTlsSpec): NginxCert;
  /** For HTTPS requests to hosts without a tls entry (ingress-nginx's fake certificate). */
  defaultCert: NginxCert;
  /** `internal`: a loopback port for the server answering 503 where a backend has no endpoint. */
  listen: { address?: string; http: number; https: number; health: number; internal: number };
  /** `prefix`: a writable directory for nginx's temporary files. */
  files: { prefix: string; pid: string; errorLog: string; accessLog?: string };
  workerProcesses?: number;
  /** Answered on the health port at /kube-netlab/generation: which configuration the workers taking new connections run. */
  generation?: string;
}

/** A string nginx reads back unchanged whatever it holds. */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function regexEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `*.foo.com` -> `~^[^.]+\.foo\.com$`: one label, as Kubernetes wildcards match. */
function serverName(host: string | undefined): string {
  if (host === undefined) return '_';
  return host.startsWith('*.') ? `~^[^.]+${regexEscape(host.slice(1))}$` : host;
}

/** ingress-nginx's upstream names: `<namespace>-<service>-<port>`, with the options that make it another group. */
export function upstreamName(u: UpstreamRef): string {
  const port = 'number' in u.backend.port ? String(u.backend.port.number) : u.backend.port.name;
  return `${u.namespace}-${u.backend.service}-${port}${u.serviceUpstream ? '-service' : ''}${u.hashBy !== undefined ? `-hash-${shortHash(u.hashBy, 6)}` : ''}`;
}

/** The value an affinity cookie holds for an endpoint: a digest, so the cookie does not show pod addresses. */
export function affinityValue(endpoint: string): string {
  return createHash('sha1').update(endpoint).digest('hex').slice(0, 32);
}

/** An nginx expression for the value of cookie `name`; names nginx variables cannot hold go through a map on the Cookie header. */
function cookieVar(name: string, id: string, maps: string[][]): string {
  if (/^\w+$/.test(name)) return `$cookie_${name}`;
  const v = `$netlab_cookie_${id}`;
  maps.push(block(`map $http_cookie ${v}`, [`${quote(`~(?:^|;\\s*)${regexEscape(name)}=(?<value_${id}>[^;]*)`)} $value_${id};`, 'default "";']));
  return v;
}

const headerVar = (name: string) => `$http_${name.toLowerCase().replace(/-/g, '_')}`;

/** A share as split_clients takes it: `0.2` -> `20%`, two decimals. */
function percent(share: number): string {
  return `${Number((share * 100).toFixed(2))}%`;
}

class Renderer {
  /** `map` and `split_clients` blocks the locations asked for, in order. */
  readonly maps: string[][] = [];
  private next = 0;
  /** Upstream names by upstream key: ingress-nginx's names, made unique where two would read alike (`a-b`/`c` and `a`/`b-c`). */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly input: NginxConfInput,
    servers: readonly ServerPlan[],
  ) {
    const taken = new Set<string>();
    for (const u of upstreamsOf(servers)) {
      let name = upstreamName(u);
      if (taken.has(name)) name = `${name}-${shortHash(upstreamKey(u), 6)}`;
      taken.add(name);
      this.names.set(upstreamKey(u), name);
    }
  }

  private name(u: UpstreamRef): string {
    return this.names.get(upstreamKey(u)) ?? upstreamName(u);
  }

  private listen(port: number, extra = ''): string {
    const a = this.input.listen.address;
    return `listen ${a === undefined ? '' : `${a}:`}${port}${extra};`;
  }

  upstreams(servers: ServerPlan[]): string[] {
    return upstreamsOf(servers).flatMap((u) => {
      const addrs = this.input.upstream(u) ?? [];
      const where = u.serviceUpstream ? 'the ClusterIP (service-upstream): kube-proxy picks the pod' : 'the ready endpoints';
      const body = addrs.length
        ? [`# ${u.namespace}/${u.backend.service}: ${where}`, ...(u.hashBy !== undefined ? [`hash ${u.hashBy} consistent;`] : []), ...addrs.map((a) => `server ${a};`)]
        : [`# ${u.namespace}/${u.backend.service}: no such Service or port, or no ready endpoint: 503`, `server 127.0.0.1:${this.input.listen.internal};`];
      return block(`upstream ${this.name(u)}`, body);
    });
  }

  /** The upstream a location sends to, as a name or a variable the maps set. */
  private target(loc: LocationPlan): { expr: string; setCookie?: string } {
    const u = loc.upstream!;
    const id = String(this.next++);
    let main = this.name(u);
    let setCookie: string | undefined;
    const affinity = loc.annotations.affinity;
    const addrs = this.input.upstream(u) ?? [];
    if (affinity && addrs.length) {
      const v = `$netlab_affinity_${id}`;
      const cookie = cookieVar(affinity.cookieName, `a${id}`, this.maps);
      this.maps.push(block(`map ${cookie} ${v}`, [...addrs.map((a) => `${affinityValue(a)} ${a};`), `default ${main};`]));
      // The Ingress path as written (ingress-nginx's $location_path); `/` for a regex or a path nginx would read a variable in.
      const rulePath = loc.rule?.path.path ?? '/';
      const path = affinity.cookiePath ?? (loc.match.kind === 'regex' || rulePath.includes('$') ? '/' : rulePath);
      this.maps.push(
        block(`map "${v}|$upstream_addr" $netlab_affinity_cookie_${id}`, [
          ...addrs.map((a) => `${quote(`${main}|${a}`)} ${quote(`${affinity.cookieName}=${affinityValue(a)}; Path=${path}; HttpOnly`)};`),
          'default "";',
        ]),
      );
      main = v;
      setCookie = `$netlab_affinity_cookie_${id}`;
    }
    const canary = loc.canary;
    const cookie = setCookie !== undefined ? { setCookie } : {};
    // ingress-nginx's balancer drops a backend without endpoints: an empty canary takes nothing, an empty main answers 503 to all.
    if (!canary || !addrs.length || !(this.input.upstream(canary.upstream) ?? []).length) return { expr: main, ...cookie };
    const s = canary.spec;
    const parts: string[] = [];
    if (affinity && addrs.length) {
      // A request holding a valid affinity cookie stays on the main backend (ingress-nginx: is_affinitized).
      const pinned = `$netlab_canary_pinned_${id}`;
      this.maps.push(block(`map ${cookieVar(affinity.cookieName, `p${id}`, this.maps)} ${pinned}`, [...addrs.map((a) => `${affinityValue(a)} 0;`), 'default "";']));
      parts.push(pinned);
    }
    if (s.header !== undefined) {
      const hv = `$netlab_canary_header_${id}`;
      const rules = s.headerValue !== undefined ? [`${quote(`~^${regexEscape(s.headerValue)}$`)} 1;`] : s.headerPattern !== undefined ? [`${quote(`~${s.headerPattern}`)} 1;`] : ['"~^always$" 1;', '"~^never$" 0;'];
      this.maps.push(block(`map ${headerVar(s.header)} ${hv}`, [...rules, 'default "";']));
      parts.push(hv);
    }
    if (s.cookie !== undefined) {
      const cv = `$netlab_canary_cookie_${id}`;
      this.maps.push(block(`map ${cookieVar(s.cookie, `c${id}`, this.maps)} ${cv}`, ['"~^always$" 1;', '"~^never$" 0;', 'default "";']));
      parts.push(cv);
    }
    const share = canaryShare(s);
    if (share >= 1) parts.push('1');
    else if (share <= 0) parts.push('0');
    else {
      const wv = `$netlab_canary_weight_${id}`;
      this.maps.push(block(`split_clients "$request_id" ${wv}`, [`${percent(share)} 1;`, '* 0;']));
      parts.push(wv);
    }
    const v = `$netlab_canary_${id}`;
    // The first rule with an answer decides: an empty answer adds nothing to the string.
    // Braced, so a literal 0 or 1 after a variable is not read as part of its name.
    const joined = parts.map((x) => (x.startsWith('$') ? `\${${x.slice(1)}}` : x)).join('');
    this.maps.push(block(`map "${joined}" ${v}`, [`"~^1" ${this.name(canary.upstream)};`, `default ${main};`]));
    return { expr: v, ...cookie };
  }

  private proxy(loc: LocationPlan): string[] {
    const a = loc.annotations;
    const { expr: target, setCookie } = this.target(loc);
    const lines: string[] = [];
    switch (a.backendProtocol ?? 'HTTP') {
      case 'HTTPS':
        lines.push(`proxy_pass https://${target};`);
        break;
      case 'GRPC':
        lines.push(`grpc_pass grpc://${target};`);
        break;
      case 'GRPCS':
        lines.push(`grpc_pass grpcs://${target};`);
        break;
      case 'AUTO_HTTP':
        lines.push(`proxy_pass $scheme://${target};`);
        break;
      default:
        lines.push(`proxy_pass http://${target};`);
    }
    // Only answers whose request held no valid cookie get one (the map is empty otherwise).
    // `always`: error answers of the backend set it too, as ingress-nginx's balancer does.
    if (setCookie !== undefined) lines.push(`add_header Set-Cookie ${setCookie} always;`);
    return lines;
  }

  private location(server: ServerPlan, loc: LocationPlan): string[] {
    const a = loc.annotations;
    const m = loc.match;
    const head = m.kind === 'regex' ? `location ~* "^${m.path}"` : `location ${m.kind === 'exact' ? '= ' : ''}${quote(m.path)}`;
    const body: string[] = [];
    if (loc.rule) body.push(`# ${`${loc.rule.ingress.namespace}/${loc.rule.ingress.name}: ${loc.rule.path.pathType} ${loc.rule.path.path}`.replace(/[\x00-\x1f]/g, '?')}`);
    else body.push(loc.upstream ? '# no rule: the default backend' : '# no rule and no default backend: 404');
    if (loc.canary) body.push(`# canary: ${loc.canary.ingress.namespace}/${loc.canary.ingress.name}`);
    if (a.redirect) body.push(`return ${a.redirect.code} ${quote(a.redirect.url)};`);
    if (a.forceSslRedirect === true || (a.sslRedirect !== false && server.tls)) body.push(...block('if ($scheme = http)', ['return 308 https://$host$netlab_redirect_uri;']));
    if (loc.rule && needsRewrite(a, loc.rule.path.path)) body.push(`rewrite "(?i)${m.path}" ${a.rewriteTarget} break;`);
    for (const c of a.denylist ?? []) body.push(`deny ${c};`);
    if (a.allowlist) body.push(...a.allowlist.map((c) => `allow ${c};`), 'deny all;');
    if (a.proxyBodySize !== undefined) body.push(`client_max_body_size ${a.proxyBodySize};`);
    body.push(...(loc.upstream ? this.proxy(loc) : ['return 404;']));
    return block(head, body);
  }

  server(s: ServerPlan): string[] {
    const { http, https } = this.input.listen;
    const dflt = s.host === undefined ? ' default_server' : '';
    const cert = s.tls ? this.input.cert(s.tls.namespace, s.tls.tls) : undefined;
    return block('server', [
      this.listen(http, dflt),
      this.listen(https, ` ssl http2${dflt}`),
      `server_name ${serverName(s.host)};`,
      ...(cert ? certLines(cert) : []),
      // app-root: at server level, as ingress-nginx writes it, so `/` redirects before any location is chosen.
      ...(s.appRoot !== undefined ? block('if ($uri = /)', [`return 302 $scheme://$http_host${s.appRoot};`]) : []),
      ...s.locations.flatMap((l) => this.location(s, l)),
    ]);
  }

  internalServers(): string[] {
    return [
      ...block('server', [
        '# ingress-nginx answers 503 for a backend without a ready endpoint.',
        this.listen(this.input.listen.internal).replace(/listen (?:[^:]+:)?/, 'listen 127.0.0.1:'),
        block('location /', ['return 503;']),
      ].flat()),
      ...block('server', [
        this.listen(this.input.listen.health),
        block('location = /healthz', ['default_type text/plain;', 'return 200 "ok";']),
        ...(this.input.generation !== undefined ? [block('location = /kube-netlab/generation', ['default_type text/plain;', `return 200 ${quote(this.input.generation)};`])] : []),
        block('location /', ['return 404;']),
      ].flat()),
    ];
  }
}

function certLines(c: NginxCert): string[] {
  return [`ssl_certificate ${quote(c.certFile)};`, `ssl_certificate_key ${quote(c.keyFile)};`];
}

/** A block with its body indented; nested blocks arrive as line lists already. */
function block(head: string, body: (string | string[])[]): string[] {
  return [`${head} {`, ...body.flat().map((l) => `  ${l}`), '}'];
}

export function renderNginxConf(input: NginxConfInput): string {
  const { files } = input;
  const planned = planServers(input.ingresses);
  const r = new Renderer(input, planned);
  const servers = planned.map((s) => r.server(s));
  const upstreams = r.upstreams(planned);
  const temp = (dir: string) => quote(`${files.prefix.replace(/\/+$/, '')}/${dir}`);

  const lines = [
    '# Rendered by kube-netlab from the served Ingresses and their endpoints; rewritten on every change.',
    // The lab supervises the master process itself.
    'daemon off;',
    'user root;',
    `worker_processes ${input.workerProcesses ?? 1};`,
    `pid ${quote(files.pid)};`,
    `error_log ${quote(files.errorLog)} warn;`,
    `lock_file ${quote(`${files.prefix.replace(/\/+$/, '')}/nginx.lock`)};`,
    ...block('events', ['worker_connections 1024;']),
    ...block('http', [
      files.accessLog === undefined ? 'access_log off;' : `access_log ${quote(files.accessLog)};`,
      'server_tokens off;',
      'server_names_hash_bucket_size 128;',
      'map_hash_bucket_size 128;',
      // Every temporary path under the prefix: nothing is written to /var/lib/nginx.
      `client_body_temp_path ${temp('client_body')};`,
      `proxy_temp_path ${temp('proxy')};`,
      `fastcgi_temp_path ${temp('fastcgi')};`,
      `uwsgi_temp_path ${temp('uwsgi')};`,
      `scgi_temp_path ${temp('scgi')};`,
      'ssl_protocols TLSv1.2 TLSv1.3;',
      // Servers without a certificate of their own inherit the default one.
      ...certLines(input.defaultCert),
      'proxy_http_version 1.1;',
      'proxy_connect_timeout 5s;',
      'proxy_set_header Host $host;',
      'proxy_set_header X-Real-IP $remote_addr;',
      'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      'proxy_set_header X-Forwarded-Proto $scheme;',
      'proxy_set_header X-Forwarded-Host $host;',
      // ssl-redirect drops a trailing '/', as ingress-nginx's redirect does.
      ...block('map $request_uri $netlab_redirect_uri', ['"~^(?<noslash>.*)/$" $noslash;', 'default $request_uri;']),
      ...r.maps.flat(),
      ...upstreams,
      ...servers.flat(),
      ...r.internalServers(),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

export { upstreamKey };
