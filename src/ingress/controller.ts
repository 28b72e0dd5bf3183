/**
 * What the lab's ingress controller serves, from the plan: the served
 * Ingresses, each backend addressed through its Service (the ClusterIP and
 * service port, as ingress-nginx does with `service-upstream`), so
 * kube-proxy picks the pod and an endpoint change needs no nginx reload.
 * A backend whose Service, port or ClusterIP does not exist answers 503.
 */
import { join } from 'node:path';
import { servedIngresses } from '../config/ingresses.js';
import { INGRESS_NGINX, type IngressBackendSpec, type IngressTlsSpec } from '../model/ingress.js';
import type { Plan } from '../model/types.js';
import { FAKE_CN, type CertStore } from './certs.js';
import { renderNginxConf, type NginxCert } from './nginx-conf.js';

export function backendAddress(plan: Plan, namespace: string, b: IngressBackendSpec): string | undefined {
  const svc = plan.services.find((s) => s.namespace === namespace && s.name === b.service);
  if (!svc?.clusterIP || svc.clusterIP === 'None') return undefined;
  const port = svc.ports.find((p) => ('number' in b.port ? p.port === b.port.number : p.name === b.port.name));
  return port ? `${svc.clusterIP}:${port.port}` : undefined;
}

/** The certificates the served Ingresses need, made or written first (openssl is asynchronous), by tls entry. */
export async function certificatesFor(plan: Plan, store: CertStore): Promise<{ byEntry: Map<IngressTlsSpec, NginxCert>; fallback: NginxCert }> {
  const byEntry = new Map<IngressTlsSpec, NginxCert>();
  const secrets = plan.spec.tlsSecrets ?? [];
  const fallback = await store.generated([], FAKE_CN);
  for (const ing of servedIngresses(plan.spec)) {
    for (const tls of ing.tls) {
      const secret = tls.secretName === undefined ? undefined : secrets.find((s) => s.namespace === ing.namespace && s.name === tls.secretName);
      byEntry.set(tls, secret ? store.secret(secret) : tls.hosts.length ? await store.generated(tls.hosts) : fallback);
    }
  }
  return { byEntry, fallback };
}

export function controllerConf(plan: Plan, dir: string, certs: { byEntry: Map<IngressTlsSpec, NginxCert>; fallback: NginxCert }): string {
  const d = INGRESS_NGINX;
  return renderNginxConf({
    ingresses: servedIngresses(plan.spec),
    backend: (namespace, b) => backendAddress(plan, namespace, b),
    cert: (_namespace, tls) => certs.byEntry.get(tls) ?? certs.fallback,
    defaultCert: certs.fallback,
    listen: { http: d.httpPort, https: d.httpsPort, health: d.healthPort },
    files: { prefix: dir, pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log') },
  });
}
