/**
 * Starts the lab's agent: one process that serves every container's ports
 * inside the pods' namespaces and restarts containers that die.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitAgentReady } from '../agent/client.js';
import { spawnDetached } from '../kernel/procs.js';
import { labDir, ownerOf } from './state.js';

const AGENT_READY_TIMEOUT_MS = 20_000;

function agentEntry(): string {
  const entry = fileURLToPath(new URL('../agent/main.js', import.meta.url));
  if (!existsSync(entry)) {
    throw new Error(`the agent is not built (${entry} is missing); run 'npm run build'`);
  }
  return entry;
}

export async function startAgent(lab: string): Promise<number> {
  const dir = labDir(lab);
  const log = openSync(join(dir, 'agent.log'), 'a');
  try {
    const pid = spawnDetached([process.execPath, agentEntry(), dir], { owner: ownerOf(lab), logFd: log });
    await waitAgentReady(dir, AGENT_READY_TIMEOUT_MS, { pid });
    return pid;
  } finally {
    closeSync(log);
  }
}
