/** Cluster DNS with kube-proxy in iptables mode on the vxlan backend (the suite: test/helpers/dns-suite.ts). */
import { dnsSuite } from '../helpers/dns-suite.js';

dnsSuite('iptables', 'vxlan');
