import { daemonStateFile } from '../model/daemons.js';

/** The agent's files in a lab's run directory, which the agent, its clients and the daemons share. */
export const PLAN_FILE = 'plan.json';
export const SOCKET_FILE = 'agent.sock';
/** The agent runs on the daemon runtime under this name: its state file is `agent.json` (its pid, socket and plan). */
export const AGENT_NAME = 'agent';
export const STATE_FILE = daemonStateFile({ name: AGENT_NAME });
export const LOG_FILE = 'agent.log';
/**
 * The daemons of the plan `up` is building, written before it starts the
 * agent: the agent starts them while it waits for plan.json, each waiting
 * for its config file. `up` removes it once the agent is ready.
 */
export const PRESTART_FILE = 'daemons.prestart.json';
