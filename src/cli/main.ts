#!/usr/bin/env node
/**
 * kube-netlab CLI entry: parses the verb, runs it, maps errors to exit codes
 * (0 ok, 1 a check failed, 2 bad input, 3 environment problem).
 */
import { ConfigError, exitCodeOf } from '../util/errors.js';
import { parseArgs, type FlagSpec } from './args.js';
import { EXERCISE_USAGE, FAULT_USAGE } from './commands/usage-lines.js';

const COMMON: FlagSpec[] = [{ name: 'name', value: true }, { name: 'help', short: 'h' }];

// Each verb's module is loaded when it runs: a command starts without loading the code of every other verb.
const VERBS: Record<string, { flags: FlagSpec[]; run: (args: ReturnType<typeof parseArgs>) => Promise<number>; usage: string }> = {
  up: { flags: [{ name: 'file', short: 'f', value: true }], run: async (a) => (await import('./commands/up.js')).upCommand(a), usage: 'up [-f FILE]... [--name N]' },
  apply: { flags: [{ name: 'file', short: 'f', value: true }], run: async (a) => (await import('./commands/apply.js')).applyCommand(a), usage: 'apply -f FILE... [--name N]' },
  scale: {
    flags: [{ name: 'namespace', short: 'n', value: true }, { name: 'replicas', value: true }],
    run: async (a) => (await import('./commands/apply.js')).scaleCommand(a),
    usage: 'scale [-n NAMESPACE] deploy/NAME|sts/NAME --replicas N [--name N]',
  },
  down: { flags: [{ name: 'file', short: 'f', value: true }, { name: 'all' }], run: async (a) => (await import('./commands/down.js')).downCommand(a), usage: 'down [--name N] [--all]' },
  get: {
    flags: [{ name: 'output', short: 'o', value: true }, { name: 'namespace', short: 'n', value: true }],
    run: async (a) => (await import('./commands/get.js')).getCommand(a),
    usage: 'get pods|nodes|svc|endpoints|ingress|netpol [-n NAMESPACE] [-o wide|json] [--name N]',
  },
  exec: { flags: [{ name: 'container', short: 'c', value: true }], run: async (a) => (await import('./commands/exec.js')).execCommand(a), usage: 'exec [--name N] TARGET [-c CONTAINER] -- CMD...' },
  verify: {
    flags: [{ name: 'file', short: 'f', value: true }, { name: 'tap' }, { name: 'junit', value: true }, { name: 'output', short: 'o', value: true }, { name: 'only', value: true }],
    run: async (a) => (await import('./commands/verify.js')).verifyCommand(a),
    usage: 'verify [-f FILE] [--name N] [--tap | --junit FILE | -o json] [--only P5,P11,reachability]',
  },
  check: { flags: [{ name: 'file', short: 'f', value: true }, { name: 'output', short: 'o', value: true }], run: async (a) => (await import('./commands/check.js')).checkCommand(a), usage: 'check [--name N] [-o json]' },
  trace: {
    flags: [{ name: 'port', short: 'p', value: true }, { name: 'udp' }, { name: 'output', short: 'o', value: true }],
    run: async (a) => (await import('./commands/trace.js')).traceCommand(a),
    usage: 'trace SRC DST [--port P] [--udp] [--name N] [-o json]',
  },
  graph: {
    flags: [{ name: 'file', short: 'f', value: true }, { name: 'output', short: 'o', value: true }, { name: 'out', value: true }, { name: 'trace' }, { name: 'port', short: 'p', value: true }, { name: 'udp' }],
    run: async (a) => (await import('./commands/graph.js')).graphCommand(a),
    usage: 'graph [--name N | -f FILE...] [-o mermaid|dot|svg|html|json] [--out FILE] [--trace SRC DST [--port P] [--udp]]',
  },
  exercise: {
    flags: [{ name: 'output', short: 'o', value: true }],
    run: async (a) => (await import('./commands/exercise.js')).exerciseCommand(a),
    usage: EXERCISE_USAGE,
  },
  fault: { flags: [{ name: 'container', short: 'c', value: true }], run: async (a) => (await import('./commands/fault.js')).faultCommand(a), usage: FAULT_USAGE },
};

function usage(): string {
  return [
    'usage: kube-netlab <verb> [options]',
    '',
    ...Object.values(VERBS).map((v) => `  ${v.usage}`),
    '',
    'TARGET for exec: POD, NAMESPACE/POD, node/NAME, external, router, internet',
    'Exit codes: 0 ok, 1 a check failed, 2 bad input, 3 environment problem',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    process.stdout.write(usage());
    return verb ? 0 : 2;
  }
  const spec = VERBS[verb];
  if (!spec) {
    process.stderr.write(`kube-netlab: unknown verb '${verb}'\n${usage()}`);
    return 2;
  }
  const args = parseArgs(rest, [...COMMON, ...spec.flags]);
  if (args.flags.has('help')) {
    process.stdout.write(`usage: kube-netlab ${spec.usage}\n`);
    return 0;
  }
  return spec.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = exitCodeOf(err);
    const message = err instanceof Error ? err.message : String(err);
    const label = err instanceof ConfigError ? 'error' : code === 3 ? 'environment' : 'error';
    process.stderr.write(`kube-netlab: ${label}: ${message}\n`);
    if (process.env.KUBE_NETLAB_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = code;
  },
);
