/** The exercise on its own lab file (P3, host-gw). */
import { exerciseSuite } from '../helpers/exercise-suite.js';
import { labName } from '../helpers/cli.js';

exerciseSuite(['pod-route-missing'], labName('exr'), { verbs: true });
