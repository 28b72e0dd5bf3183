/** ingress-nginx: nginx in each controller pod, configured from the served Ingresses and the ready endpoints. */
import { ingressDaemonsFor } from '../../model/daemons.js';
import type { Component } from '../contract.js';

export const ingressNginx: Component = { name: 'ingress-nginx', enabled: () => true, daemons: ingressDaemonsFor };
