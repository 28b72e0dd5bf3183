/** The unit tests of config, model, util, cli, architecture, in one process (run-folders.ts says why). */
import { runFolders } from './run-folders.js';

await runFolders(['config', 'model', 'util', 'cli', 'architecture']);
