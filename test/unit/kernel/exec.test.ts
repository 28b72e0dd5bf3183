/**
 * `run`, the one way the lab runs a program: output, input, exit status,
 * failures with their context, timeouts, and no child left behind.
 */
import t from 'tap';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { run } from '../../../dist/kernel/exec.js';
import { CommandError, EnvironmentError } from '../../../dist/util/errors.js';

/**
 * Children of this process that exist (zombies included) besides those it
 * had when the test began (a loader's helper, or a child of a test file run
 * before this one in the same process that Node has yet to reap): run must
 * reap every one it starts.
 */
const allChildren = () => readdirSync('/proc/self/task').flatMap((tid) => readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
let before = new Set<number>();
t.beforeEach(() => {
  before = new Set(allChildren());
});
const children = () => allChildren().filter((pid) => !before.has(pid));

t.test('stdout, stderr, the exit code and the input', async (t) => {
  const r = await run(['sh', '-c', 'cat; echo err >&2; exit 3'], { context: 'a test', input: 'hello\n', allowFailure: true });
  t.equal(r.stdout, 'hello\n');
  t.equal(r.stderr, 'err\n');
  t.equal(r.exitCode, 3);
  t.equal(r.timedOut, false);
  t.same(children(), [], 'the child is reaped');
});

t.test('a failure carries the command, its context and its stderr', async (t) => {
  const err = await run(['sh', '-c', 'echo broken >&2; exit 2'], { context: 'configure pod default/web-1' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof CommandError, 'a CommandError');
  t.match((err as Error).message, /^configure pod default\/web-1: `sh -c echo broken >&2; exit 2` exited 2\n  broken$/);
});

t.test('a program that is not installed names its package', async (t) => {
  await t.rejects(run(['kube-netlab-no-such-program'], { context: 'a test' }), EnvironmentError);
  await t.rejects(run(['kube-netlab-no-such-program'], { context: 'a test' }), /a test: the program 'kube-netlab-no-such-program' is not installed/);
});

t.test('more output than a pipe holds, and input the program never reads', async (t) => {
  const r = await run(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x'], { context: 'a test' });
  t.equal(r.stdout.length, 3_000_000);
  const ignored = await run(['true'], { context: 'a test', input: 'y'.repeat(1_000_000) });
  t.equal(ignored.exitCode, 0, 'a closed stdin is not an error');
});

t.test('the environment, with additions', async (t) => {
  const r = await run(['sh', '-c', 'echo "$KUBE_NETLAB_TEST_VAR"'], { context: 'a test', env: { KUBE_NETLAB_TEST_VAR: 'v1' } });
  t.equal(r.stdout, 'v1\n');
});

t.test('a timeout ends the program with SIGTERM', async (t) => {
  const r = await run(['sleep', '30'], { context: 'a test', timeoutMs: 50, allowFailure: true });
  t.equal(r.timedOut, true);
  t.equal(r.exitCode, -1, 'killed by a signal: no exit code');
  t.same(children(), [], 'and reaped');
});

t.test('many at once', async (t) => {
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => run(['sh', '-c', `echo ${i}`], { context: 'a test' })));
  t.same(
    rs.map((r) => r.stdout),
    Array.from({ length: 40 }, (_, i) => `${i}\n`),
  );
  t.same(children(), []);
});

t.test('started inside a network namespace; one that cannot be entered fails the command with the reason', async (t) => {
  const gone = await run(['true'], { context: 'a test', netnsPath: '/run/netns/kube-netlab-no-such-namespace', allowFailure: true });
  t.equal(gone.exitCode, -1, 'no exit code: the program never started');
  t.match(gone.stderr, /cannot enter network namespace \/run\/netns\/kube-netlab-no-such-namespace/);
  await t.rejects(run(['true'], { context: 'configure x', netnsPath: '/run/netns/kube-netlab-no-such-namespace' }), CommandError);
  t.same(children(), []);
  if (process.getuid?.() === 0) {
    // Entering our own namespace needs the same privilege as any other; the child is born in it.
    const own = await run(['readlink', '/proc/self/ns/net'], { context: 'a test', netnsPath: '/proc/self/ns/net' });
    t.equal(own.stdout.trim(), readlinkSync('/proc/self/ns/net'));
  }
});
