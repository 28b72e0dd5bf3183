/** One line per event, timestamped; the caller redirects stdout to agent.log. */
export type Logger = (message: string) => void;

export const log: Logger = (message) => {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
};
