import t from 'tap';
import { Counters, dropsBetween } from '../../../../dist/components/udp/counters.js';

t.test('counters snapshot and the drops between two snapshots', async (t) => {
  const c = new Counters();
  const empty = c.snapshot();
  t.same(empty, { tunToUdp: { packets: 0, bytes: 0 }, udpToTun: { packets: 0, bytes: 0 }, icmpUnreachableSent: 0, superPackets: 0, drops: {} });
  c.tunToUdp.packets++;
  c.tunToUdp.bytes += 84;
  c.drop('ttl-expired');
  c.drop('no-route');
  c.drop('no-route');
  const later = c.snapshot();
  t.same(later.drops, { 'no-route': 2, 'ttl-expired': 1 });
  t.same(Object.keys(later.drops), ['no-route', 'ttl-expired'], 'sorted, so the stats file is stable');
  t.equal(empty.tunToUdp.packets, 0, 'a snapshot does not follow later counts');
  t.equal(dropsBetween(empty, later), 'no-route 2, ttl-expired 1');
  c.drop('no-route');
  t.equal(dropsBetween(later, c.snapshot()), 'no-route 1');
  t.equal(dropsBetween(later, later), '');
});
