/** The socket-diagnostics request check sends for TCP listeners, and the ports it reads back (pure). */
import t from 'tap';
import { listenersRequest, sourcePorts } from '../../../dist/kernel/sock-diag.js';

t.test('one dump request per family: SOCK_DIAG_BY_FAMILY, TCP, listeners only', async (t) => {
  const req = listenersRequest(2);
  t.equal(req.length, 72, 'nlmsghdr and inet_diag_req_v2, as ss sends it');
  t.equal(req.readUInt32LE(0), 72, 'nlmsg_len');
  t.equal(req.readUInt16LE(4), 20, 'SOCK_DIAG_BY_FAMILY');
  t.equal(req.readUInt16LE(6), 0x301, 'NLM_F_REQUEST | NLM_F_DUMP');
  t.same([req.readUInt8(16), req.readUInt8(17)], [2, 6], 'AF_INET, IPPROTO_TCP');
  t.equal(req.readUInt32LE(20), 1 << 10, 'TCP_LISTEN only: the connection table is not walked');
  t.ok(req.subarray(24).every((b) => b === 0), 'any socket id');
  t.equal(listenersRequest(10).readUInt8(16), 10, 'AF_INET6');
});

t.test('the local port of each inet_diag_msg, big-endian after four one-byte fields', async (t) => {
  const msg = (port: number) => {
    const m = Buffer.alloc(72);
    m.writeUInt8(2, 0);
    m.writeUInt8(10, 1);
    m.writeUInt16BE(port, 4);
    m.writeUInt16BE(0, 6);
    return m;
  };
  t.same(sourcePorts([msg(8080), msg(53)]), [8080, 53]);
  t.same(sourcePorts([Buffer.alloc(3)]), [], 'a short message carries no port');
});
