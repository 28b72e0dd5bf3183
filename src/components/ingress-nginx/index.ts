/**
 * ingress-nginx: nginx in each controller pod; each controller's config is
 * the served Ingresses with their Secrets and Services, and it follows the
 * endpoints the agent publishes.
 */
import { ingressDaemonsFor } from '../../model/daemons.js';
import type { Component } from '../contract.js';
import { ingressControllerConfig } from './controller.js';

export const ingressNginx: Component = {
  name: 'ingress-nginx',
  enabled: () => true,
  daemons: (plan) => ingressDaemonsFor(plan).map((spec) => ({ ...spec, config: ingressControllerConfig(plan, spec.args[spec.args.indexOf('--pod') + 1]!) })),
};
