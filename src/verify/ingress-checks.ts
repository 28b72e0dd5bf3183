/**
 * P8, from the external client to the ingress controller's load-balancer
 * IP: every host and path rule of the served Ingresses, a path and a host
 * that no rule takes, over HTTP and, for hosts with TLS, HTTPS against the
 * certificate the host should get. What each request should give comes from
 * `routeRequest` over the planned servers, so the annotations are followed:
 * a redirect (ssl-redirect, app-root, permanent/temporal) with its code and
 * Location, a rewritten path reaching the backend rewritten, an allowlist
 * answering 403 to a client outside it, a canary getting its share (or all,
 * or none), cookie affinity keeping one pod, gRPC answered over HTTP/2.
 * Which pods may answer comes from the endpoints kube-proxy programs now.
 */
import { join } from 'node:path';
import { respond } from '../agent/responses.js';
import { labDir } from '../apply/state.js';
import { CA_CERT, INGRESS_DIR, secretFiles } from '../components/ingress-nginx/certs.js';
import { isExact, prefixBase } from '../components/ingress-nginx/match.js';
import { canaryShare, locationFor, routeRequest, serverFor, type RouteOutcome } from '../components/ingress-nginx/route.js';
import { planServers, type LocationPlan, type ServerPlan, type UpstreamRef } from '../components/ingress-nginx/servers.js';
import { INGRESS_NGINX } from '../spec/ingress.js';
import type { ProxyNodeInput } from '../model/services.js';
import type { Plan } from '../model/types.js';
import type { Check, Endpoint, Probe, ShareExpectation } from './checks.js';
import type { PolicyView } from './policy-view.js';

/**
 * A canary's share is a binomial count. nginx's `split_clients` hashes each
 * request's random `$request_id`, so each of n requests goes to the canary
 * on its own with probability s = the share, and the canary's count K is
 * Binomial(n, s). The check accepts K in [min, max], the central region that
 * leaves at most FALSE_FAILURE / 2 of K's probability below and above it: a
 * right split fails verify at most once in a million runs, the bound the
 * check has always used for "both sides answer". The region is computed
 * exactly from the binomial probabilities, not from a normal approximation,
 * which is poor in the tails at these n and shares.
 *
 * n is the smallest for which the check says what it should, as requests
 * cost verify time (each goes through nginx to a pod):
 *  - the region excludes 0 and n, so both sides answering is part of it;
 *  - a split read the wrong way round (the canary taking 1 - s, as a 20%
 *    canary taking 80%) passes at most as often as a right one fails.
 * Where the second needs more than MAX_CANARY_REQUESTS (shares near one
 * half, where s and 1 - s are close: 35% would need 248), the smallest n
 * of the first alone; where even that needs more (shares under ~7% or over
 * ~93%), FALLBACK_REQUESTS, whose region still fails a canary taking far
 * more, or far less, than its share. 20% (the default lab's) takes 66.
 */
const FALSE_FAILURE = 1e-6;
const MAX_CANARY_REQUESTS = 200;
const FALLBACK_REQUESTS = 20;

/** P(K = k) for K ~ Binomial(n, p), 0 < p < 1, k = 0..n: the recurrence P(k+1) = P(k) (n-k)/(k+1) p/(1-p), in logarithms so nothing underflows. */
export function binomialPmf(n: number, p: number): number[] {
  const out: number[] = [];
  let log = n * Math.log1p(-p);
  const odds = Math.log(p) - Math.log1p(-p);
  for (let k = 0; k <= n; k++) {
    out.push(Math.exp(log));
    log += Math.log(n - k) - Math.log(k + 1) + odds;
  }
  return out;
}

/** The counts a right split gives in n requests but with probability FALSE_FAILURE: at most half of it cut off at each end. */
export function shareRegion(n: number, share: number): { min: number; max: number } {
  const pmf = binomialPmf(n, share);
  let min = 0;
  let below = 0;
  while (min < n && below + pmf[min]! <= FALSE_FAILURE / 2) below += pmf[min++]!;
  let max = n;
  let above = 0;
  while (max > min && above + pmf[max]! <= FALSE_FAILURE / 2) above += pmf[max--]!;
  return { min, max };
}

export interface CanaryRequests {
  n: number;
  /** The canary answers at least min and at most max of the n requests. */
  min: number;
  max: number;
  /** Whether min >= 1 and max <= n - 1: both sides answer. */
  both: boolean;
}

/** How many requests show a canary's share (0 < share < 1), and how many of them the canary may answer; see the comment above. */
export function canaryRequests(share: number): CanaryRequests {
  let first: CanaryRequests | undefined;
  for (let n = 1; n <= MAX_CANARY_REQUESTS; n++) {
    const { min, max } = shareRegion(n, share);
    if (min < 1 || max > n - 1) continue;
    first ??= { n, min, max, both: true };
    const swapped = binomialPmf(n, 1 - share)
      .slice(min, max + 1)
      .reduce((a, b) => a + b, 0);
    if (swapped <= FALSE_FAILURE) return { n, min, max, both: true };
  }
  return first ?? { n: FALLBACK_REQUESTS, ...shareRegion(FALLBACK_REQUESTS, share), both: false };
}

export type IngressProbe = Extract<Probe, { kind: 'ingress' }>;

/** Why the answers (each the pod that gave it, undefined for nginx's own) do not show the share; undefined when they do. */
export function shareProblem(s: ShareExpectation, answeredBy: (string | undefined)[]): string | undefined {
  const k = answeredBy.filter((pod) => pod !== undefined && s.canary.includes(pod)).length;
  if (k >= s.min && k <= s.max) return undefined;
  return `the canary (${s.canary.join(', ')}) answered ${k} of ${answeredBy.length}; a ${+(s.share * 100).toFixed(2)}% share answers ${s.min}-${s.max} but once in a million runs`;
}

/** Names for hosts that are patterns or absent: one label under a wildcard, anything for host-less rules. */
function concreteHost(host: string | undefined): string {
  if (host === undefined) return 'any-host.example';
  return host.startsWith('*.') ? `x${host.slice(1)}` : host;
}

/** The literal start of a regular expression path: `/api/v1(/|$)(.*)` -> `/api/v1`. */
function literalPrefix(path: string): string {
  const i = path.search(/[()*+?|[\]{}^$\\.]/);
  return (i < 0 ? path : path.slice(0, i)) || '/';
}

/** Request paths that exercise a location: the path itself and one element below it; for regexes, what their literal start gives. */
function requestPaths(loc: LocationPlan): string[] {
  const rule = loc.rule!.path;
  if (loc.match.kind === 'regex' && loc.match.path !== rule.path) return [loc.match.path];
  if (loc.match.kind === 'regex' && rule.pathType === 'ImplementationSpecific') {
    const base = literalPrefix(rule.path).replace(/\/+$/, '') || '';
    return [...new Set([base || '/', `${base}/kube-netlab`, `${base}/kube-netlab/deeper`])];
  }
  if (isExact(rule)) return [rule.path];
  const base = prefixBase(rule.path);
  return [rule.path, `${base === '/' ? '' : base}/deeper`];
}

const pathOf = (target: string) => target.split(/[?#]/, 1)[0] ?? '/';

export function ingressChecks(plan: Plan, proxy: ProxyNodeInput[], policy?: PolicyView): Check[] {
  const client = plan.internet.clients[0];
  const lb = plan.services.find((s) => s.namespace === INGRESS_NGINX.namespace && s.name === INGRESS_NGINX.service)?.loadBalancerIP;
  const ingresses = plan.ingresses;
  if (!client || !lb || ingresses.length === 0) return [];
  const from: Endpoint = { netns: client.netns, label: client.name };
  const dir = join(labDir(plan.lab), INGRESS_DIR);
  const podsByIP = new Map(plan.pods.map((p) => [p.ip, p.name]));
  const servers = planServers(ingresses);

  const servicePort = (u: UpstreamRef) => {
    const svc = plan.services.find((s) => s.namespace === u.namespace && s.name === u.backend.service);
    const port = svc?.ports.find((p) => p.protocol === 'TCP' && ('number' in u.backend.port ? p.port === u.backend.port.number : p.name === u.backend.port.name));
    return svc && port && svc.type !== 'ExternalName' ? { svc, port } : undefined;
  };
  /** The pods behind an upstream (empty: none ready), or undefined when nginx itself answers 503 (no such Service or port). */
  const backendPods = (u: UpstreamRef): string[] | undefined => {
    const found = servicePort(u);
    if (!found) return undefined;
    const sp = proxy[0]?.services.find((x) => x.namespace === u.namespace && x.service === found.svc.name && x.port === found.port.port && x.protocol === 'TCP');
    return (sp?.endpoints ?? []).map((e) => podsByIP.get(e.ip) ?? e.ip);
  };
  /** Whether the policies let every controller pod reach every endpoint of the backend, whichever one is picked. */
  const backendOpen = (u: UpstreamRef): boolean => {
    if (!policy) return true;
    const found = servicePort(u);
    const controllers = plan.pods.filter((p) => p.namespace === INGRESS_NGINX.namespace);
    return controllers.every((c) => {
      const sp = policy.world.proxy.get(c.node)?.services.find((x) => x.namespace === u.namespace && x.service === found?.svc.name && x.port === found?.port.port && x.protocol === 'TCP');
      return !sp || policy.predict({ kind: 'pod', pod: c }, { kind: 'service', sp }, 'TCP').result === 'allowed';
    });
  };

  const checks: Check[] = [];
  const seen = new Set<string>();

  /** The probe and what it shows for a proxied request; undefined when nothing is worth asserting. */
  const proxied = (o: Extract<RouteOutcome, { kind: 'proxy' }>, probe: IngressProbe): string | undefined => {
    const main = backendPods(o.upstream);
    const canary = o.canaryUpstream ? backendPods(o.canaryUpstream) : undefined;
    // ingress-nginx's balancer drops a backend without endpoints: an empty canary takes nothing, an empty main answers 503 to all.
    const mainEmpty = main === undefined || (main.length === 0 && !o.upstream.serviceUpstream);
    if (o.canary !== 'no' && (!canary?.length || mainEmpty)) o = { ...o, canary: 'no' };
    const picked = o.canary === 'yes' ? o.canaryUpstream! : o.upstream;
    const pods = o.canary === 'yes' ? canary : main;
    const svc = `service ${picked.namespace}/${picked.backend.service}`;
    if (pods === undefined) {
      probe.expect = { status: 503 };
      return `backend ${picked.backend.service} does not exist: 503 from nginx`;
    }
    if (pods.length === 0) {
      // With service-upstream kube-proxy refuses the connection (502); ingress-nginx's own balancer answers 503.
      if (picked.serviceUpstream) return undefined;
      probe.expect = { status: 503 };
      return `${svc} has no ready endpoint: 503 from nginx`;
    }
    if (!backendOpen(picked) || (o.canary === 'maybe' && o.canaryUpstream && !backendOpen(o.canaryUpstream))) return undefined; // a policy keeps some controller from some backend pod: P11 shows it
    const grpc = o.protocol === 'GRPC' || o.protocol === 'GRPCS';
    const status = grpc ? 200 : respond(pathOf(o.uri), { pod: '', namespace: '', container: '', node: '', podIP: '', serverPort: 0 }, {}).status;
    const via = o.upstream.serviceUpstream ? `ClusterIP of ${svc}` : `endpoints of ${svc}`;
    const rewritten = o.uri !== probe.path ? `, rewritten to ${o.uri}` : '';
    const loc = o.location.rule ? `rule ${o.location.rule.path.pathType} ${o.location.rule.path.path} of Ingress ${o.location.rule.ingress.namespace}/${o.location.rule.ingress.name}` : 'default backend';
    probe.expect = { status, target: o.uri };
    if (grpc) probe.grpc = true;
    if (o.canary === 'maybe' && canary?.length) {
      const spec = o.location.canary!.spec;
      const share = canaryShare(spec);
      const r = canaryRequests(share);
      probe.count = r.n;
      probe.expect.pods = [...new Set([...pods, ...canary])];
      // A pod behind both Services answers for either side: who answered then says nothing of the share.
      const apart = !canary.some((pod) => pods.includes(pod));
      if (apart) {
        probe.expect.share = { canary, share, min: r.min, max: r.max };
        if (r.both) probe.expect.each = [pods, canary];
      }
      const shown = apart ? `: ${r.both ? `both answer in ${r.n} requests, the canary ${r.min}-${r.max} of them` : `the canary answers ${r.min}-${r.max} of ${r.n} requests`}` : '';
      return `${loc} -> ${via}, canary ${o.location.canary!.ingress.name} takes ${Math.round(share * 100)}%${shown}`;
    }
    probe.expect.pods = pods;
    if (o.location.annotations.affinity && pods.length > 1 && !o.location.canary) {
      probe.count = 6;
      probe.cookies = true;
      probe.expect.samePod = true;
      return `${loc} -> ${via}${rewritten}, cookie ${o.location.annotations.affinity.cookieName} keeps one pod`;
    }
    return `${loc} -> ${via}${o.canary === 'yes' ? ' (canary)' : ''}${rewritten}${grpc ? `, gRPC (${o.protocol})` : ''}`;
  };

  const add = (scheme: 'http' | 'https', host: string, path: string, headers: string[] = []) => {
    const key = `${scheme}://${host}${path}${headers.length ? ` ${headers.join(',')}` : ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    const server = serverFor(servers, host);
    const port = scheme === 'https' ? INGRESS_NGINX.httpsPort : INGRESS_NGINX.httpPort;
    const probe: IngressProbe = { kind: 'ingress', from, scheme, ip: lb, port, host, path, ...(headers.length ? { headers } : {}), expect: { status: 404 } };
    const o = routeRequest(servers, { scheme, host, target: path, clientIP: client.ip, headers: Object.fromEntries(headers.map((h) => h.split(': ', 2) as [string, string])) });
    let what: string | undefined;
    if (o.kind === 'redirect') {
      probe.expect = { status: o.status, location: o.location };
      what = `${o.why}: ${o.status} to ${o.location}`;
    } else if (o.kind === 'nginx') {
      probe.expect = { status: o.status };
      what = `${o.why}: ${o.status} from nginx`;
    } else what = proxied(o, probe);
    if (what === undefined) return;
    if (scheme === 'https') {
      const tls = server.tls;
      const secret = tls?.tls.secretName === undefined ? undefined : plan.spec.tlsSecrets.find((s) => s.namespace === tls.namespace && s.name === tls.tls.secretName);
      // A Secret's certificate is checked against itself (self-signed), the lab's against the lab CA.
      probe.caFile = secret ? secretFiles(dir, secret).certFile : join(dir, CA_CERT);
      what += secret ? `, certificate of Secret ${secret.namespace}/${secret.name}` : ', certificate signed by the lab CA for this host';
    }
    checks.push({ path: 'P8', name: `P8 external -> ingress ${lb} ${key}: ${what}`, probes: [probe] });
  };

  const hostsOf = (server: ServerPlan) => concreteHost(server.host);
  for (const server of servers) {
    const host = hostsOf(server);
    // A server without a tls entry still answers HTTPS with the fake certificate, which no client trusts: only TLS hosts are asked over HTTPS.
    const schemes: ('http' | 'https')[] = server.tls ? ['http', 'https'] : ['http'];
    for (const loc of server.locations) {
      if (!loc.rule) continue;
      for (const path of requestPaths(loc)) {
        // A regex path's sample may land elsewhere; only those this location takes speak for it.
        if (locationFor(server, pathOf(path)) !== loc) continue;
        for (const scheme of schemes) {
          add(scheme, host, path);
          const c = loc.canary?.spec;
          if (c?.header !== undefined) add(scheme, host, path, [`${c.header}: ${c.headerValue ?? 'always'}`]);
          if (c?.cookie !== undefined) add(scheme, host, path, [`Cookie: ${c.cookie}=always`]);
        }
      }
    }
    for (const scheme of schemes) add(scheme, host, '/kube-netlab-no-such-path');
  }
  add('http', 'unknown-host.invalid', '/');
  return checks;
}
