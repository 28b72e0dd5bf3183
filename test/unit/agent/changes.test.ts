/** The agent's change counter, which `GET /status?after=` waits on. */
import t from 'tap';
import { ChangeCounter } from '../../../dist/agent/changes.js';

t.test('a wait ends at the first change after the value it was given', async (t) => {
  const c = new ChangeCounter();
  const order: string[] = [];
  t.equal(c.value, 0);
  const waiting = c.after(0, 60_000).then(() => order.push(`answered at ${c.value}`));
  await new Promise((r) => setImmediate(r));
  order.push('nothing changed yet');
  c.bump();
  await waiting;
  t.same(order, ['nothing changed yet', 'answered at 1']);

  c.bump();
  let early = false;
  await c.after(1, 60_000).then(() => (early = true));
  t.ok(early, 'a value already above the one given is answered at once');
});

t.test('a wait without a change ends at its deadline; stopping answers every wait', async (t) => {
  const c = new ChangeCounter();
  const order: string[] = [];
  await c.after(0, 1).then(() => order.push(`deadline, still ${c.value}`));
  const a = c.after(0, 60_000).then(() => order.push('a'));
  const b = c.after(0, 60_000).then(() => order.push('b'));
  c.releaseAll();
  await Promise.all([a, b]);
  t.same(order, ['deadline, still 0', 'a', 'b']);
});
