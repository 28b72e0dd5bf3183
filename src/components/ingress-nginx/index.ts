/**
 * ingress-nginx: nginx in each controller pod; each controller's config is
 * the served Ingresses with their Secrets and Services, and it follows the
 * endpoints the agent publishes.
 */
import type { Component } from '../contract.js';
import { ingressDaemons, prepareIngressCertificates } from './daemon.js';

export const ingressNginx: Component = {
  name: 'ingress-nginx',
  enabled: () => true,
  daemons: ingressDaemons,
  prepare: prepareIngressCertificates,
};
