/** The neighbour-table arithmetic and the kernel's statistics as `up` and `verify` read them (pure). */
import t from 'tap';
import { neighbourTableAdvice, neighboursNeeded, overflowNote, raiseLimitCommand, tableFulls } from '../../../dist/kernel/neighbour-table.js';
import { formatHuman, formatJson } from '../../../dist/verify/report.js';

const STATS = `entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards table_fulls
0000020b 00009dc8 0000aa1c 00000003   0005e29b 00011d5d 000000bc   00000000         00000000         00000000         00001317       00000000            0000121d
0000020b 0000a3f9 0000959a 00000005   0005af4b 000115b1 00000084   00000000         00000000         00000e8e         0000156d       00000000            00001472
`;

t.test('table_fulls is summed over the CPUs, in hex', async (t) => {
  t.equal(tableFulls(STATS), 0x121d + 0x1472);
  t.equal(tableFulls('entries allocs\n1 2\n'), 0, 'no such column: nothing to report');
  t.equal(tableFulls(''), 0);
});

t.test('a lab that fits the table gets no advice; a 1000-pod one gets the sysctl to run in the root namespace', async (t) => {
  t.equal(neighbourTableAdvice(17, 3, 1024), undefined, 'the default lab fits');
  t.equal(neighbourTableAdvice(1000, 10, undefined), undefined, 'an unreadable limit says nothing');
  t.equal(neighboursNeeded(1000, 10), 3120);
  const advice = neighbourTableAdvice(1000, 10, 1024)!;
  t.match(advice, /1000 pods need about 3120 neighbour \(ARP\) entries, but the kernel keeps at most 1024/);
  t.match(advice, /never changes the root namespace/);
  t.match(advice, /sysctl -w net\.ipv4\.neigh\.default\.gc_thresh1=2048 net\.ipv4\.neigh\.default\.gc_thresh2=4096 net\.ipv4\.neigh\.default\.gc_thresh3=8192$/);
  t.equal(raiseLimitCommand(10), 'sysctl -w net.ipv4.neigh.default.gc_thresh1=256 net.ipv4.neigh.default.gc_thresh2=512 net.ipv4.neigh.default.gc_thresh3=1024', 'never below the kernel default');
});

t.test('verify prints the overflow as a note before its summary, and in JSON', async (t) => {
  const note = overflowNote(42, 1000, 10, 1024);
  t.match(note, /full 42 times during these checks: it holds 1024 entries/);
  const report = { lab: 'big', backend: 'host-gw', results: [{ path: 'P2' as const, name: 'P2 a -> b', ok: false, details: ['timed out'], durationMs: 3000 }], notes: [note] };
  const human = formatHuman(report);
  t.match(human, /FAIL  P2 a -> b\n      timed out\n\nnote: the kernel's neighbour \(ARP\) table was full 42 times[^\n]*\n\nlab big \(host-gw\): 0 passed, 1 failed\n$/);
  t.same(JSON.parse(formatJson(report)).notes, [note]);
  t.notMatch(formatHuman({ ...report, notes: [] }), /note:/);
});
