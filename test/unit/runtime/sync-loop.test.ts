/**
 * The round loop of the lab's controllers (kube-proxy, network policy, the
 * cloud load balancer): never two rounds at once; kicks during a round make
 * one more; a kick resolves only after a round that started after it; a
 * periodic kick during a round is dropped; a failed round is retried.
 * Rounds are held open by hand, so every step is an event, not a time.
 */
import t from 'tap';
import { mock } from 'node:test';
import { SyncLoop } from '../../../dist/runtime/sync-loop.js';

/** A loop whose rounds wait until released, recording when each starts. */
function gated(result: () => boolean = () => true) {
  const started: number[] = [];
  const release: (() => void)[] = [];
  let running = 0;
  let overlapped = false;
  const loop = new SyncLoop(async () => {
    if (running++ > 0) overlapped = true;
    started.push(started.length + 1);
    await new Promise<void>((r) => release.push(r));
    running--;
    return result();
  }, 1000);
  const tick = () => new Promise((r) => setImmediate(r));
  return { loop, started, release: async () => { release.shift()!(); await tick(); await tick(); }, overlapped: () => overlapped };
}

t.test('kicks during a round make one round more, and each kick waits for a round that started after it', async (t) => {
  const g = gated();
  const order: string[] = [];
  const first = g.loop.kick().then(() => order.push('first kick done'));
  t.same(g.started, [1], 'the first kick starts a round at once');
  t.ok(g.loop.busy);
  const second = g.loop.kick().then(() => order.push('second kick done'));
  const third = g.loop.kick().then(() => order.push('third kick done'));
  t.same(g.started, [1], 'no second round while one runs');

  await g.release();
  await first;
  t.same(order, ['first kick done'], 'the kicks made during round 1 still wait');
  t.same(g.started, [1, 2], 'one more round for both kicks made during round 1');
  await g.release();
  await Promise.all([second, third]);
  t.same(order, ['first kick done', 'second kick done', 'third kick done']);
  t.same(g.started, [1, 2], 'and no third round');
  t.notOk(g.loop.busy);
  t.notOk(g.overlapped(), 'never two rounds at once');
});

t.test('a periodic kick during a round is dropped; between rounds it runs one', async (t) => {
  const g = gated();
  const asked = g.loop.kick();
  g.loop.kickUnlessBusy();
  await g.release();
  await asked;
  t.same(g.started, [1], 'the periodic kick during round 1 asked for nothing');
  g.loop.kickUnlessBusy();
  t.same(g.started, [1, 2], 'when idle it starts a round');
  await g.release();
  t.notOk(g.loop.busy);
});

t.test('a failed round is tried again after the retry delay; stop cancels the retry', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.teardown(() => mock.timers.reset());
  let fail = true;
  const g = gated(() => !fail);
  const done = g.loop.kick();
  await g.release();
  await done;
  t.same(g.started, [1], 'the failed round ended; its kick is answered');
  mock.timers.tick(999);
  t.same(g.started, [1], 'no retry before the delay');
  mock.timers.tick(1);
  t.same(g.started, [1, 2], 'the retry');
  fail = false;
  await g.release();
  mock.timers.tick(5000);
  t.same(g.started, [1, 2], 'a round that succeeds is not retried');

  fail = true;
  void g.loop.kick();
  await g.release();
  g.loop.stop();
  mock.timers.tick(5000);
  t.same(g.started, [1, 2, 3], 'stopped: the failed round is not retried');
});

t.test('a round that throws counts as failed, and the loop goes on', async (t) => {
  let calls = 0;
  const loop = new SyncLoop(async () => {
    calls++;
    throw new Error('boom');
  }, 60_000);
  t.teardown(() => loop.stop());
  await loop.kick();
  t.equal(calls, 1);
  t.notOk(loop.busy, 'not stuck busy');
  await loop.kick();
  t.equal(calls, 2, 'kicked again, it runs again');
});
