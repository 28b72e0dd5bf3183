/**
 * The lab's skeleton: the internet side (clients, servers, the load
 * balancer's namespace), the router, every node's eth0 and cbr0, every pod's
 * veth pair, and the sysctls. Every other component builds on it.
 */
import type { Component } from '../contract.js';
import { renderFiles } from '../../render/files.js';
import { renderExternalClients, renderInternet, renderLoadBalancer, renderNodes, renderPods, renderRouter, renderSysctls } from './render.js';

export const topology: Component = {
  name: 'topology',
  enabled: () => true,
  kernel: (plan) => [
    // The internet bridge first: the router, the external clients and the load balancer plug their uplinks into it.
    { label: 'internet', step: 'internet', batches: renderInternet(plan) },
    { label: 'router', step: 'router', batches: renderRouter(plan) },
    { label: 'internet', step: 'router', batches: [...renderExternalClients(plan), ...renderLoadBalancer(plan)] },
    { label: 'node', step: 'nodes', batches: renderNodes(plan) },
    { label: 'pod', step: 'pods', batches: renderPods(plan) },
    { label: 'sysctl', sysctls: renderSysctls(plan) },
    // The hosts and resolv.conf the kubelet writes for each pod (and the nodes' own), which `ip netns exec` mounts over /etc.
    { label: 'kubelet', files: renderFiles(plan) },
  ],
};
