/** The unit tests of render, trace, verify, in one process (run-folders.ts says why). */
import { runFolders } from './run-folders.js';

await runFolders(['render', 'trace', 'verify']);
