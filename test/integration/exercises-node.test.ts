/** The exercises about the pod, the node and the overlay (P1, P2, P4), on the default lab. */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(['loopback-down', 'veth-detached', 'forwarding-off', 'stale-vxlan-fdb', 'wrong-vtep-mac', 'pod-mtu'], labName('exn'));
