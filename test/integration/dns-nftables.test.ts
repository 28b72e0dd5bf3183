/** Cluster DNS with kube-proxy in nftables mode on the host-gw backend (the suite: test/helpers/dns-suite.ts). */
import { dnsSuite } from '../helpers/dns-suite.js';

dnsSuite('nftables', 'host-gw');
