/** The unit tests of components, in one process (run-folders.ts says why). */
import { runFolders } from './run-folders.js';

await runFolders(['components']);
