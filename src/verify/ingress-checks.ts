/**
 * P8, from the external client to the ingress controller's load-balancer
 * IP: every host and path rule of the served Ingresses, a path and a host
 * that no rule takes, and for hosts with TLS the redirect of plain HTTP and
 * HTTPS checked against the certificate the host should get. What each
 * request should give comes from the reference matcher (matchIngress), and
 * which pods may answer from the endpoints kube-proxy programs now.
 */
import { join } from 'node:path';
import { respond } from '../agent/responses.js';
import { labDir } from '../apply/state.js';
import { servedIngresses } from '../config/ingresses.js';
import { CA_CERT, INGRESS_DIR, secretFiles } from '../ingress/certs.js';
import { matchIngress, prefixBase } from '../ingress/match.js';
import { tlsEntryFor } from '../ingress/nginx-conf.js';
import { INGRESS_NGINX, type IngressBackendSpec, type IngressSpec } from '../model/ingress.js';
import type { ProxyNodeInput } from '../model/services.js';
import type { Plan } from '../model/types.js';
import type { Check, Endpoint, Probe } from './checks.js';
import type { PolicyView } from './policy-view.js';

/** Names for hosts that are patterns or absent: one label under a wildcard, anything for host-less rules. */
function concreteHost(host: string | undefined): string {
  if (host === undefined) return 'any-host.example';
  return host.startsWith('*.') ? `x${host.slice(1)}` : host;
}

/** Request paths that exercise a rule: the path itself and, for prefixes, one element below it. */
function requestPaths(path: string, type: string): string[] {
  if (type === 'Exact') return [path];
  const base = prefixBase(path);
  return [path, `${base === '/' ? '' : base}/deeper`];
}

export function ingressChecks(plan: Plan, proxy: ProxyNodeInput[], policy?: PolicyView): Check[] {
  const client = plan.internet?.clients[0];
  const lb = plan.services.find((s) => s.namespace === INGRESS_NGINX.namespace && s.name === INGRESS_NGINX.service)?.loadBalancerIP;
  const ingresses = servedIngresses(plan.spec);
  if (!client || !lb || ingresses.length === 0) return [];
  const from: Endpoint = { netns: client.netns, label: client.name };
  const dir = join(labDir(plan.lab), INGRESS_DIR);
  const podsByIP = new Map(plan.pods.map((p) => [p.ip, p.name]));

  /** The pods behind a backend, or undefined when nginx itself answers (no such Service or port: 503). */
  const backendPods = (namespace: string, b: IngressBackendSpec): string[] | undefined => {
    const svc = plan.services.find((s) => s.namespace === namespace && s.name === b.service);
    const port = svc?.ports.find((p) => ('number' in b.port ? p.port === b.port.number : p.name === b.port.name));
    if (!svc || !port || !svc.clusterIP || svc.clusterIP === 'None') return undefined;
    const sp = proxy[0]?.services.find((x) => x.namespace === namespace && x.service === svc.name && x.port === port.port && x.protocol === port.protocol);
    return (sp?.endpoints ?? []).map((e) => podsByIP.get(e.ip) ?? e.ip);
  };

  /** Whether the policies let every controller pod reach every endpoint of the backend, whichever kube-proxy picks. */
  const backendOpen = (namespace: string, b: IngressBackendSpec): boolean => {
    if (!policy) return true;
    const svc = plan.services.find((s) => s.namespace === namespace && s.name === b.service);
    const port = svc?.ports.find((p) => ('number' in b.port ? p.port === b.port.number : p.name === b.port.name));
    const controllers = plan.pods.filter((p) => p.namespace === INGRESS_NGINX.namespace);
    return controllers.every((c) => {
      const sp = policy.world.proxy.get(c.node)?.services.find((x) => x.namespace === namespace && x.service === svc?.name && x.port === port?.port && x.protocol === port?.protocol);
      return !sp || policy.predict({ kind: 'pod', pod: c }, { kind: 'service', sp }, 'TCP').result === 'allowed';
    });
  };
  const checks: Check[] = [];
  const seen = new Set<string>();
  const add = (scheme: 'http' | 'https', host: string, path: string, tlsIngresses: IngressSpec[]) => {
    const key = `${scheme}://${host}${path}`;
    if (seen.has(key)) return;
    seen.add(key);
    const tls = tlsEntryFor(tlsIngresses, host);
    const port = scheme === 'https' ? INGRESS_NGINX.httpsPort : INGRESS_NGINX.httpPort;
    const probe: Probe = { kind: 'ingress', from, scheme, ip: lb, port, host, path, expect: { status: 404 } };
    let what: string;
    if (scheme === 'http' && tls) {
      probe.expect = { status: 308 };
      what = 'redirected to HTTPS (308, ssl-redirect)';
    } else {
      const m = matchIngress(ingresses, { host, path });
      const pods = m && backendPods(m.ingress.namespace, m.backend);
      if (!m) what = 'no rule and no default backend: 404 from nginx';
      else if (pods === undefined) {
        probe.expect = { status: 503 };
        what = `backend ${m.backend.service} does not exist: 503 from nginx`;
      } else if (pods.length === 0) return; // no ready endpoint: kube-proxy refuses, nothing worth asserting per path
      else if (!backendOpen(m.ingress.namespace, m.backend)) return; // a policy keeps some controller from some backend pod: P11 shows it
      else {
        probe.expect = { status: respond(path, { pod: '', namespace: '', container: '', node: '', podIP: '', serverPort: 0 }, {}).status, pods };
        what = `${m.rule ? `rule ${m.rule.path.pathType} ${m.rule.path.path}` : 'default backend'} of Ingress ${m.ingress.namespace}/${m.ingress.name} -> service ${m.backend.service}`;
      }
      if (scheme === 'https') {
        const secret = tls?.tls.secretName === undefined ? undefined : plan.spec.tlsSecrets.find((s) => s.namespace === tls.namespace && s.name === tls.tls.secretName);
        // A Secret's certificate is checked against itself (self-signed), the lab's against the lab CA.
        probe.caFile = secret ? secretFiles(dir, secret).certFile : join(dir, CA_CERT);
        what += secret ? `, certificate of Secret ${secret.namespace}/${secret.name}` : ', certificate signed by the lab CA for this host';
      }
    }
    checks.push({ path: 'P8', name: `P8 external -> ingress ${lb} ${key}: ${what}`, probes: [probe] });
  };

  for (const ing of ingresses) {
    for (const rule of ing.rules) {
      const host = concreteHost(rule.host);
      const covered = rule.host !== undefined && tlsEntryFor(ingresses, rule.host) !== undefined;
      for (const p of rule.paths) {
        for (const path of requestPaths(p.path, p.pathType)) {
          add('http', host, path, covered ? ingresses : []);
          if (covered) add('https', host, path, ingresses);
        }
      }
      add('http', host, '/kube-netlab-no-such-path', covered ? ingresses : []);
      if (covered) add('https', host, '/kube-netlab-no-such-path', ingresses);
    }
  }
  add('http', 'unknown-host.invalid', '/', []);
  return checks;
}
