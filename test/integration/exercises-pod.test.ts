/** The exercises inside a pod, on its node's bridge and in the node as a router (P1, P2, P4), on the default lab. */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(['loopback-down', 'veth-detached', 'forwarding-off'], labName('exp'));
