/** NetworkPolicy with kube-proxy's nftables mode on host-gw (see test/helpers/netpol-suite.ts). */
import t from 'tap';
import { netpolSuite } from '../helpers/netpol-suite.js';

netpolSuite(t, 'nftables', 'host-gw');
