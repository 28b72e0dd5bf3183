/** NetworkPolicy with kube-proxy's iptables mode on vxlan (see test/helpers/netpol-suite.ts). */
import t from 'tap';
import { netpolSuite } from '../helpers/netpol-suite.js';

netpolSuite(t, 'iptables', 'vxlan');
