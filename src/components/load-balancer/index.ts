/** The cloud's load balancer on the internet side: health-checks the nodes and forwards LoadBalancer IPs to the healthy ones. */
import { cloudDaemonsFor } from '../../model/daemons.js';
import type { Component } from '../contract.js';

export const loadBalancer: Component = { name: 'load-balancer', enabled: () => true, daemons: cloudDaemonsFor };
