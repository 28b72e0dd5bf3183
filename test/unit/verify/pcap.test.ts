import t from 'tap';
import { classifyFrame, pcapFrames } from '../../../dist/verify/pcap.js';

const ipBytes = (ip: string) => ip.split('.').map(Number);

function ipv4(src: string, dst: string, protocol: number, payload: number[]): number[] {
  const total = 20 + payload.length;
  return [0x45, 0, total >> 8, total & 0xff, 0, 0, 0x40, 0, 64, protocol, 0, 0, ...ipBytes(src), ...ipBytes(dst), ...payload];
}
const udp = (sport: number, dport: number, payload: number[]) => [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8 + payload.length, 0, 0, ...payload];
const eth = (payload: number[]) => [...Array(12).fill(0xaa), 0x08, 0x00, ...payload];
const icmpEcho = [8, 0, 0, 0, 0, 1, 0, 1];

function pcap(frames: number[][]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map((f) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, Buffer.from(f)]);
  });
  return Buffer.concat([header, ...records]);
}

const ports = { vxlan: 8472, udp: 8285 };

t.test('vxlan: outer UDP 8472, VNI, inner pod IPs', async (t) => {
  const inner = eth(ipv4('10.244.0.2', '10.244.1.2', 1, icmpEcho));
  const vxlanHeader = [0x08, 0, 0, 0, 0, 0, 1, 0];
  const frame = eth(ipv4('192.168.56.11', '192.168.56.12', 17, udp(40000, 8472, [...vxlanHeader, ...inner])));
  const [f] = pcapFrames(pcap([frame]));
  const c = classifyFrame(f!, ports);
  t.equal(c?.kind, 'vxlan');
  if (c?.kind !== 'vxlan') return;
  t.same([c.outer.src, c.outer.dst, c.dstPort, c.vni, c.inner.src, c.inner.dst], ['192.168.56.11', '192.168.56.12', 8472, 1, '10.244.0.2', '10.244.1.2']);
});

t.test('udp: the datagram payload is the inner IP packet', async (t) => {
  const frame = eth(ipv4('192.168.56.11', '192.168.56.12', 17, udp(8285, 8285, ipv4('10.244.0.2', '10.244.1.2', 1, icmpEcho))));
  const c = classifyFrame(pcapFrames(pcap([frame]))[0]!, ports);
  t.equal(c?.kind, 'udp');
  if (c?.kind === 'udp') t.same([c.inner.src, c.inner.dst, c.inner.protocol], ['10.244.0.2', '10.244.1.2', 1]);
});

t.test('plain: pod IPs in the only IP header', async (t) => {
  const c = classifyFrame(pcapFrames(pcap([eth(ipv4('10.244.0.2', '10.244.1.2', 1, icmpEcho))]))[0]!, ports);
  t.equal(c?.kind, 'plain');
  t.equal(c?.outer.src, '10.244.0.2');
});

t.test('a VXLAN-port datagram without the I flag is not taken for VXLAN', async (t) => {
  const inner = eth(ipv4('10.244.0.2', '10.244.1.2', 1, icmpEcho));
  const frame = eth(ipv4('192.168.56.11', '192.168.56.12', 17, udp(1, 8472, [0, 0, 0, 0, 0, 0, 1, 0, ...inner])));
  t.equal(classifyFrame(pcapFrames(pcap([frame]))[0]!, ports)?.kind, 'plain');
});

t.test('several records, and garbage refused', async (t) => {
  const f = eth(ipv4('10.0.0.1', '10.0.0.2', 1, icmpEcho));
  t.equal(pcapFrames(pcap([f, f, f])).length, 3);
  t.throws(() => pcapFrames(Buffer.alloc(40)), /not a pcap/);
});
