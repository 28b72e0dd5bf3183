/** The exercises in kube-proxy's path to a ClusterIP: its rules, bridge netfilter, hairpin (P5), on the default lab. */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(['service-jump-missing', 'wrong-target-port', 'bridge-nf-off', 'hairpin-off'], labName('exs'));
