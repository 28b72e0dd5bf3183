/** The exercises in the VXLAN overlay: fdb, VTEP neighbour, MTU (P4), on the default lab. */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(['stale-vxlan-fdb', 'wrong-vtep-mac', 'pod-mtu'], labName('exo'));
