/**
 * Starts the lab's agent: one process that serves every container's ports
 * inside the pods' namespaces and restarts containers that die.
 *
 * A node's kubelet runs under a service manager that starts it again when it
 * is killed; here a small `sh` loop plays that part. It restarts the agent
 * when a signal other than SIGTERM/SIGINT ended it (`kill -9`, the OOM
 * killer) and ends with it otherwise, so `down` (SIGTERM to both) and an
 * agent that cannot start (exit 1, reported by `up`) are never looped. The
 * new agent stops the daemons its predecessor left and opens every container
 * again; pods keep their namespaces, IPs and pause processes throughout.
 */
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitAgentReady } from '../agent/client.js';
import { spawnDetached } from '../kernel/procs.js';
import { labDir, ownerOf } from './state.js';
import { writeAtomic } from '../util/files.js';
import { PRESTART_FILE } from '../runtime/run-dir.js';
import { BOOT_NICE, BOOT_NICE_ENV, setAutogroupNice } from '../runtime/boot-priority.js';
import type { DaemonSpec } from '../model/daemons.js';

const AGENT_READY_TIMEOUT_MS = 20_000;

function agentEntry(): string {
  const entry = fileURLToPath(new URL('../agent/main.js', import.meta.url));
  if (!existsSync(entry)) {
    throw new Error(`the agent is not built (${entry} is missing); run 'npm run build'`);
  }
  return entry;
}

/** The loop, with the agent's command line as its arguments (nothing of it is interpreted by the shell). */
export const AGENT_RESTARTER = [
  'while :; do',
  '"$@"; rc=$?',
  // 128+15 SIGTERM and 128+2 SIGINT are a stop; any other signal is a crash.
  'if [ "$rc" -le 128 ] || [ "$rc" -eq 143 ] || [ "$rc" -eq 130 ]; then exit "$rc"; fi',
  'echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) agent killed by signal $((rc - 128)); starting it again in 1 s"',
  'sleep 1',
  'done',
].join('\n');

/**
 * Starts the agent's restart loop and returns its pid at once. Without
 * plan.json in the run directory the agent boots and waits for it, so `up`
 * starts it before the kernel objects are built and writes plan.json after.
 * `daemons`, the coming plan's, are started meanwhile, each waiting for the
 * config the plan's load writes.
 */
export function spawnAgent(lab: string, daemons: readonly DaemonSpec[] = []): number {
  const dir = labDir(lab);
  if (daemons.length) writeAtomic(join(dir, PRESTART_FILE), `${JSON.stringify({ daemons }, null, 2)}\n`);
  const log = openSync(join(dir, 'agent.log'), 'a');
  try {
    // Niced while it boots (and the daemons it starts meanwhile, which inherit it): the kernel objects `up` builds come first.
    const argv = ['nice', '-n', String(BOOT_NICE), 'sh', '-c', AGENT_RESTARTER, 'kube-netlab-agent-restarter', process.execPath, agentEntry(), dir];
    const pid = spawnDetached(argv, { owner: ownerOf(lab), logFd: log, env: { [BOOT_NICE_ENV]: '1' } });
    // Its session is a scheduling group of its own, which the kernel shares the CPU with as with `up`'s: niced too.
    setAutogroupNice(pid, BOOT_NICE);
    return pid;
  } finally {
    closeSync(log);
  }
}

/** Until the agent spawned as `pid` serves plan.json: every container running, rules synced. */
export async function agentReady(lab: string, pid: number): Promise<number> {
  await waitAgentReady(labDir(lab), AGENT_READY_TIMEOUT_MS, { pid });
  // Read once, at the agent's start: from now on it only misleads whoever looks into the run directory.
  rmSync(join(labDir(lab), PRESTART_FILE), { force: true });
  return pid;
}

