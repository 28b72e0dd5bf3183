/**
 * Pause processes started with posix_spawn: what a detached child must look
 * like (its own session, nothing of Node's signal handling, stdio on
 * /dev/null, the environment given), and the error when the program is
 * missing.
 */
import t from 'tap';
import { readFileSync, readlinkSync } from 'node:fs';
import { posixSpawnDetached } from '../../../dist/kernel/posix-spawn.js';
import { isAlive } from '../../../dist/kernel/procs.js';
import { eventually } from '../../helpers/eventually.js';

const statusField = (pid: number, field: string) => new RegExp(`^${field}:\\s+(\\S+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

t.test('a detached child: own session, default signals, stdio on /dev/null, the given environment', async (t) => {
  const pid = posixSpawnDetached(['sleep', '30'], { PATH: process.env.PATH, KUBE_NETLAB_TEST_MARK: 'x1' });
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  });
  // posix_spawn returns once the child has its own memory, a moment before exec has renamed it.
  const comm = () => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  await eventually(() => comm() === 'sleep', { every: 2, timeout: 10_000 });
  t.equal(comm(), 'sleep', 'it runs the program');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  t.equal(Number(stat[3]), pid, 'the leader of a session of its own (setsid)');
  t.equal(statusField(pid, 'SigBlk'), '0000000000000000', 'no signal blocked');
  const ignored = BigInt(`0x${statusField(pid, 'SigIgn')}`);
  t.equal(ignored & (1n << 12n), 0n, 'SIGPIPE not ignored (Node ignores it)');
  for (const fd of [0, 1, 2]) t.equal(readlinkSync(`/proc/${pid}/fd/${fd}`), '/dev/null', `fd ${fd}`);
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  t.ok(env.includes('KUBE_NETLAB_TEST_MARK=x1'), 'the environment given');
  process.kill(pid, 'SIGTERM');
  await eventually(() => !isAlive(pid), { every: 10, timeout: 10_000 });
  t.notOk(isAlive(pid), 'SIGTERM ends it');
});

t.test('a program that is not there', async (t) => {
  t.throws(() => posixSpawnDetached(['kube-netlab-no-such-program'], { PATH: '/usr/bin:/bin' }), /cannot start kube-netlab-no-such-program: posix_spawnp: ENOENT \(no such file or directory\); is kube-netlab-no-such-program installed and on PATH\?/);
});
