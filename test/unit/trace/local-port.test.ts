/** The ports a trace must not draw for its probe: every local port of the source namespace's sockets (pure). */
import t from 'tap';
import { portsInUse } from '../../../dist/trace/run.js';

const PROC_NET = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0A00000A:5DC0 0A600001:0050 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  512: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5678 2 0000000000000000 0
`;

t.test('listening, TIME_WAIT and UDP sockets all hold their port', async (t) => {
  t.same([...portsInUse(PROC_NET)].sort((a, b) => a - b), [5353, 8080, 24000]);
  t.same([...portsInUse('')], []);
});
