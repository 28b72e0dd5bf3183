/**
 * What the lab's ingress controller serves, from the plan and the published
 * endpoints: the served Ingresses, each backend an upstream of the
 * Service's ready endpoints (ingress-nginx's default), or of its ClusterIP
 * and port with `service-upstream` (kube-proxy then picks the pod). A
 * backend whose Service or port does not exist, or that has no ready
 * endpoint, answers 503.
 */
import { join } from 'node:path';
import { INGRESS_NGINX, type IngressSpec, type IngressTlsSpec, type TlsSecretSpec } from '../../spec/ingress.js';
import type { Plan } from '../../model/types.js';
import type { ServicePlan } from '../../model/services.js';
import { FAKE_CN, type CertStore } from './certs.js';
import { renderNginxConf, type NginxCert } from './nginx-conf.js';
import { upstreamServers, type UpstreamData } from './upstreams.js';

/**
 * A controller's config, rendered from the plan by the component: the
 * served Ingresses, the TLS Secrets they name and the Services their
 * backends point at. The controller reads nothing else of the plan.
 */
export interface IngressControllerConfig {
  lab: string;
  /** `<namespace>/<pod>` of the controller pod. */
  pod: string;
  ingresses: IngressSpec[];
  tlsSecrets: TlsSecretSpec[];
  services: ServicePlan[];
}

export function ingressControllerConfig(plan: Plan, pod: string): IngressControllerConfig {
  return { lab: plan.lab, pod, ingresses: plan.ingresses, tlsSecrets: plan.spec.tlsSecrets, services: plan.services };
}

/** The certificates the served Ingresses need, made or written first (openssl is asynchronous), by tls entry. */
export async function certificatesFor(config: Pick<IngressControllerConfig, 'ingresses' | 'tlsSecrets'>, store: CertStore): Promise<{ byEntry: Map<IngressTlsSpec, NginxCert>; fallback: NginxCert }> {
  const byEntry = new Map<IngressTlsSpec, NginxCert>();
  const secrets = config.tlsSecrets;
  const fallback = await store.generated([], FAKE_CN);
  for (const ing of config.ingresses) {
    for (const tls of ing.tls) {
      const secret = tls.secretName === undefined ? undefined : secrets.find((s) => s.namespace === ing.namespace && s.name === tls.secretName);
      byEntry.set(tls, secret ? store.secret(secret) : tls.hosts.length ? await store.generated(tls.hosts) : fallback);
    }
  }
  return { byEntry, fallback };
}

export function controllerConf(config: IngressControllerConfig, data: UpstreamData | undefined, dir: string, certs: { byEntry: Map<IngressTlsSpec, NginxCert>; fallback: NginxCert }, generation?: string): string {
  const d = INGRESS_NGINX;
  return renderNginxConf({
    ingresses: config.ingresses,
    upstream: (u) => upstreamServers(config, data, u),
    cert: (_namespace, tls) => certs.byEntry.get(tls) ?? certs.fallback,
    defaultCert: certs.fallback,
    listen: { http: d.httpPort, https: d.httpsPort, health: d.healthPort, internal: d.internalPort },
    files: { prefix: dir, pid: join(dir, 'nginx.pid'), errorLog: join(dir, 'error.log') },
    ...(generation !== undefined ? { generation } : {}),
  });
}
