/** Cluster DNS (a server in each CoreDNS pod) and the internet side's resolver, fed by the agent's record files. */
import { dnsDaemons } from './daemon.js';
import type { Component } from '../contract.js';

export const clusterDns: Component = { name: 'cluster-dns', enabled: () => true, daemons: dnsDaemons };
