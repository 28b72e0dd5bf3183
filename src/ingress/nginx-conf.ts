/**
 * The nginx.conf of the lab's ingress controller, rendered from the served
 * Ingresses so that nginx routes exactly as `matchIngress` says:
 *
 *  - one server per rule host: an exact `server_name` for a precise host, a
 *    regex for a wildcard (nginx's own `*.foo.com` would take any number of
 *    labels, Kubernetes' exactly one). nginx prefers exact names to regexes,
 *    as the rules prefer precise hosts to wildcards.
 *  - the default server takes the host-less rules and every request whose
 *    host no server names. Host servers do not carry the host-less rules:
 *    the host is chosen first, then the path (ingress-nginx does the same).
 *  - an `Exact` path is `location = /p`. A `Prefix` path `/p` is
 *    `location = /p` plus `location /p/`, which together are the element-wise
 *    match; `/` is `location /`. nginx prefers an exact location, then the
 *    longest prefix location, and two rules that would render the same
 *    location are resolved here with the matcher's own ranking, so the one
 *    location left holds the rule the matcher picks.
 *  - nginx redirects `/p` to `/p/` when only a location `/p/` exists, so an
 *    `Exact /p/` path gets a `location = /p` beside it holding what the
 *    matcher gives `/p`.
 *  - whatever no location takes goes to the default backend, else 404.
 *
 * TLS as ingress-nginx does it by default: a host with a tls entry answers
 * HTTPS with that entry's certificate and plain HTTP with a 308 redirect
 * (ssl-redirect); every other server answers HTTPS with the default
 * (fake) certificate. A tls entry covers a rule host that it lists, or a
 * precise host one of its wildcards matches; the first such entry, input
 * order, wins. tls hosts that no rule names get no server of their own.
 */
import type { IngressBackendSpec, IngressSpec, IngressTlsSpec } from '../model/ingress.js';
import { comparePaths, defaultBackend, isExact, pathMatches, prefixBase, rulesByHost, wildcardMatches, type PathCandidate } from './match.js';

export interface NginxCert {
  certFile: string;
  keyFile: string;
}

export interface NginxConfInput {
  /** The Ingresses the controller serves, in input order. */
  ingresses: IngressSpec[];
  /** `ip:port` to proxy to; undefined answers 503 (no such Service or port, no endpoints), as ingress-nginx does. */
  backend(namespace: string, b: IngressBackendSpec): string | undefined;
  /** The certificate serving the hosts of a tls entry of an Ingress in `namespace`. */
  cert(namespace: string, tls: IngressTlsSpec): NginxCert;
  /** For HTTPS requests to hosts without a tls entry (ingress-nginx's fake certificate). */
  defaultCert: NginxCert;
  listen: { address?: string; http: number; https: number; health: number };
  /** `prefix`: a writable directory for nginx's temporary files. */
  files: { prefix: string; pid: string; errorLog: string; accessLog?: string };
  workerProcesses?: number;
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

/** nginx location keys (`= /p`, `/p/`, `/`) a path claims. */
function locationKeys(c: PathCandidate): string[] {
  if (isExact(c.path)) return [`= ${c.path.path}`];
  const base = prefixBase(c.path.path);
  return base === '/' ? ['/'] : [`= ${base}`, `${base}/`];
}

/**
 * The rule each location serves (undefined: the default backend). Where two
 * rules claim one location, the one the matcher ranks first holds it.
 */
function locations(paths: PathCandidate[]): Map<string, PathCandidate | undefined> {
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
  return out;
}

class Renderer {
  private readonly fallback: string[];

  constructor(private readonly input: NginxConfInput) {
    const d = defaultBackend(input.ingresses);
    this.fallback = d ? this.proxy(d.ingress.namespace, d.backend) : ['return 404;'];
  }

  private proxy(namespace: string, b: IngressBackendSpec): string[] {
    const addr = this.input.backend(namespace, b);
    return [addr === undefined ? 'return 503;' : `proxy_pass http://${addr};`];
  }

  private listen(port: number, extra = ''): string {
    const a = this.input.listen.address;
    return `listen ${a === undefined ? '' : `${a}:`}${port}${extra};`;
  }

  private locationBlocks(paths: PathCandidate[]): string[] {
    const locs = locations(paths);
    // Sorted by path, exact before prefix, for a reader; nginx does not care about their order.
    const byPath = (key: string): [string, string] => (key.startsWith('= ') ? [key.slice(2), '= '] : [key, '']);
    const blocks = [...locs.entries()]
      .map(([key, c]) => [...byPath(key), c] as const)
      .sort(([a, am], [b, bm]) => (a < b ? -1 : a > b ? 1 : bm.length - am.length))
      .map(([path, mod, c]) => {
        if (!c) return block(`location ${mod}${quote(path)}`, ['# no rule: the default backend', ...this.fallback]);
        const where = `${c.ingress.namespace}/${c.ingress.name}: ${c.path.pathType} ${c.path.path}`.replace(/[\x00-\x1f]/g, '?');
        return block(`location ${mod}${quote(path)}`, [`# ${where}`, ...this.proxy(c.ingress.namespace, c.path.backend)]);
      })
      .flat();
    if (!locs.has('/')) blocks.push(...block('location /', this.fallback));
    return blocks;
  }

  private tlsFor(host: string): { namespace: string; tls: IngressTlsSpec } | undefined {
    return tlsEntryFor(this.input.ingresses, host);
  }

  defaultServer(paths: PathCandidate[]): string[] {
    const { http, https } = this.input.listen;
    return block('server', [this.listen(http, ' default_server'), this.listen(https, ' ssl default_server'), 'server_name _;', ...this.locationBlocks(paths)]);
  }

  hostServers(host: string, paths: PathCandidate[]): string[] {
    const { http, https } = this.input.listen;
    const name = `server_name ${serverName(host)};`;
    const tls = this.tlsFor(host);
    if (!tls) return block('server', [this.listen(http), this.listen(https, ' ssl'), name, ...this.locationBlocks(paths)]);
    const cert = this.input.cert(tls.namespace, tls.tls);
    return [
      ...block('server', [this.listen(http), name, 'return 308 https://$host$request_uri;']),
      ...block('server', [this.listen(https, ' ssl'), name, ...certLines(cert), ...this.locationBlocks(paths)]),
    ];
  }

  healthServer(): string[] {
    return block('server', [
      this.listen(this.input.listen.health),
      block('location = /healthz', ['default_type text/plain;', 'return 200 "ok";']),
      block('location /', ['return 404;']),
    ].flat());
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
  const r = new Renderer(input);
  const hosts = rulesByHost(input.ingresses);
  const servers = [r.defaultServer(hosts.get(undefined) ?? [])];
  for (const [host, paths] of hosts) if (host !== undefined) servers.push(r.hostServers(host, paths));
  servers.push(r.healthServer());
  const temp = (dir: string) => quote(`${files.prefix.replace(/\/+$/, '')}/${dir}`);

  const lines = [
    '# Rendered by kube-netlab from the served Ingresses; rewritten on every change.',
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
      ...servers.flat(),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}
