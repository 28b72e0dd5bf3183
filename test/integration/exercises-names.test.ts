/** The exercises on names, policy, egress and the counter-example (P10-P13), on the default lab. */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(['resolv-conf', 'netpol-rule-deleted', 'ip-masq-removed', 'clusterip-route-leak'], labName('exm'));
