/** Hints come one tier per call, in order, and then all three with the way out. */
import t from 'tap';
import { nextHint } from '../../../dist/exercises/hints.js';

const HINTS = ['look at node2', 'sysctl shows it', 'compare with node1'] as const;

t.test('each call gives the next tier', async (t) => {
  const first = nextHint(HINTS, 0);
  t.equal(first.given, 1);
  t.match(first.lines[0], /^hint 1\/3 \(where to look\): look at node2$/);
  t.match(first.lines.join('\n'), /gives the next one/);
  const second = nextHint(HINTS, first.given);
  t.equal(second.given, 2);
  t.match(second.lines[0], /^hint 2\/3 \(what shows it\): sysctl shows it$/);
  const third = nextHint(HINTS, second.given);
  t.equal(third.given, 3);
  t.match(third.lines[0], /^hint 3\/3 \(what to compare it with\): compare with node1$/);
  t.notMatch(third.lines.join('\n'), /next one/, 'the last tier promises no more');
});

t.test('after the third, all three again and the way to the reference fix', async (t) => {
  const after = nextHint(HINTS, 3);
  t.equal(after.given, 3);
  t.same(after.lines.slice(0, 3).map((l) => l.split(': ')[1]), [...HINTS]);
  t.match(after.lines.at(-1), /kube-netlab exercise solve/);
});
