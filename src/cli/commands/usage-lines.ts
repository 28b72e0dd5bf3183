/** The usage lines of `fault` and `exercise`, apart from their code so `--help` loads nothing else. */
export const FAULT_USAGE = 'fault [--name N] kill-container POD [-c CONTAINER] | kill-pod POD | node-down NODE | node-up NODE';
export const EXERCISE_USAGE = 'exercise list | start ID | status | hint | check [-o json] | solve | reset | stop [--name N]';
