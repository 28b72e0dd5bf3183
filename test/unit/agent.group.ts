/** The unit tests of agent, check, exercises, kernel, reachability, runtime, in one process (run-folders.ts says why). */
import { runFolders } from './run-folders.js';

await runFolders(['agent', 'check', 'exercises', 'kernel', 'reachability', 'runtime']);
