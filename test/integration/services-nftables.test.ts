/** Services through kube-proxy in nftables mode, on host-gw and vxlan (see test/helpers/services-suite.ts). */
import t from 'tap';
import { servicesSuite } from '../helpers/services-suite.js';

servicesSuite(t, 'nftables');
