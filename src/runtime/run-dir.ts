/** The agent's files in a lab's run directory, which the agent, its clients and the daemons share. */
export const PLAN_FILE = 'plan.json';
export const SOCKET_FILE = 'agent.sock';
export const PID_FILE = 'agent.pid';
export const LOG_FILE = 'agent.log';
