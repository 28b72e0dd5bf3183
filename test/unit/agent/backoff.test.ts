import t from 'tap';
import { BACKOFF_RESET_AFTER_MS, backoffDelay, nextBackoff } from '../../../dist/agent/backoff.js';

t.test('1 s, doubling, at most 10 s', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 50, 5000].map(backoffDelay), [1000, 2000, 4000, 8000, 10000, 10000, 10000, 10000]);
});

t.test('consecutive failures walk the schedule', async (t) => {
  const delays: number[] = [];
  let steps = 0;
  for (let i = 0; i < 6; i++) {
    const next = nextBackoff(steps, 500);
    delays.push(next.delayMs);
    steps = next.steps;
  }
  t.same(delays, [1000, 2000, 4000, 8000, 10000, 10000]);
});

t.test('a container that stayed up long enough starts over at 1 s', async (t) => {
  t.same(nextBackoff(4, BACKOFF_RESET_AFTER_MS), { delayMs: 1000, steps: 1 });
  t.same(nextBackoff(4, BACKOFF_RESET_AFTER_MS - 1), { delayMs: 10000, steps: 5 });
  t.same(nextBackoff(0, 0), { delayMs: 1000, steps: 1 });
});
