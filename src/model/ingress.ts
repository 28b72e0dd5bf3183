/**
 * Ingress objects (`networking.k8s.io/v1`) as the config layer hands them
 * to the planner and the ingress controller: validated, defaulted, still in
 * the user's terms (service names and ports, not addresses).
 */
import type { SourceRef } from './types.js';

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** `backend.service`: a Service of the Ingress's namespace and one of its ports, by number or by name. */
export interface IngressBackendSpec {
  service: string;
  port: { number: number } | { name: string };
}

export interface IngressPathSpec {
  /** Starts with `/`. */
  path: string;
  pathType: PathType;
  backend: IngressBackendSpec;
}

export interface IngressRuleSpec {
  /** Absent: the rule applies to every host. `*.example.com` wildcards match exactly one label. Lower case. */
  host?: string;
  paths: IngressPathSpec[];
}

export interface IngressTlsSpec {
  /** Lower case; may hold wildcards. */
  hosts: string[];
  /** A `kubernetes.io/tls` Secret of the Ingress's namespace; absent: the lab generates the certificate. */
  secretName?: string;
}

export interface IngressSpec {
  namespace: string;
  name: string;
  /** `spec.ingressClassName`; absent: the default IngressClass's ingresses (see `IngressClassSpec.isDefault`). */
  ingressClassName?: string;
  defaultBackend?: IngressBackendSpec;
  rules: IngressRuleSpec[];
  tls: IngressTlsSpec[];
  source: SourceRef;
}

export interface IngressClassSpec {
  name: string;
  /** `spec.controller`, e.g. `k8s.io/ingress-nginx`. */
  controller: string;
  /** Annotation `ingressclass.kubernetes.io/is-default-class: "true"`. */
  isDefault: boolean;
  source: SourceRef;
}

/** A `kubernetes.io/tls` Secret: PEM texts decoded from `data` (base64) or taken from `stringData`. */
export interface TlsSecretSpec {
  namespace: string;
  name: string;
  cert: string;
  key: string;
  source: SourceRef;
}

/** The controller the lab runs, and the class name it answers to. */
export const INGRESS_NGINX = {
  controller: 'k8s.io/ingress-nginx',
  className: 'nginx',
  namespace: 'ingress-nginx',
  deployment: 'ingress-nginx-controller',
  service: 'ingress-nginx-controller',
  replicas: 2,
  labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } as Readonly<Record<string, string>>,
  container: 'controller',
  httpPort: 80,
  httpsPort: 443,
  /** ingress-nginx's health endpoint, /healthz on 10254. */
  healthPort: 10254,
} as const;
