/** The `fault` verb's usage line, apart from its code so `--help` loads nothing else. */
export const FAULT_USAGE = 'fault [--name N] kill-container POD [-c CONTAINER] | kill-pod POD | node-down NODE | node-up NODE';
