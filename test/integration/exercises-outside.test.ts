/** The exercises from the outside in: NodePort, the edge, the ingress controller, hostPort (P6-P9), on the default lab. */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(['nodeport-rule-missing', 'edge-default-route', 'ingress-pod-route', 'hostport-rule-missing'], labName('exi'));
