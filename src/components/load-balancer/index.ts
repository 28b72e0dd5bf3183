/**
 * The cloud's load balancer on the internet side: health-checks the nodes
 * and forwards LoadBalancer IPs to the healthy ones; its config is the set
 * of load balancers and nodes.
 */
import type { Component } from '../contract.js';
import { loadBalancerDaemons } from './daemon.js';

export const loadBalancer: Component = {
  name: 'load-balancer',
  enabled: () => true,
  daemons: loadBalancerDaemons,
};
