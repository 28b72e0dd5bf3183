/** The exercises about services, the outside, names and policy (P5-P13), on the default lab. */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(
  ['service-jump-missing', 'wrong-target-port', 'bridge-nf-off', 'hairpin-off', 'nodeport-rule-missing', 'edge-default-route', 'ingress-pod-route', 'hostport-rule-missing', 'resolv-conf', 'netpol-rule-deleted', 'ip-masq-removed', 'clusterip-route-leak'],
  labName('exs'),
);
