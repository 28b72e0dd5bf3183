/**
 * Just enough of the pcap format to prove how a packet travelled: the
 * outer headers on the node network and, for tunnels, the packet inside.
 * Pure: takes the bytes `tcpdump -w -` wrote.
 */

export interface Ipv4Header {
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  /** Offset of the IP payload in the buffer. */
  payload: number;
  totalLength: number;
}

export type Encapsulation =
  | { kind: 'vxlan'; outer: Ipv4Header; srcPort: number; dstPort: number; vni: number; inner: Ipv4Header }
  | { kind: 'udp'; outer: Ipv4Header; srcPort: number; dstPort: number; inner: Ipv4Header }
  | { kind: 'plain'; outer: Ipv4Header };

const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_UDP = 17;

const ip = (b: Buffer, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

/** Every captured frame (Ethernet link type only), without its pcap record header. */
export function pcapFrames(data: Buffer): Buffer[] {
  if (data.length < 24) return [];
  const magic = data.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const be = data.readUInt32BE(0) === 0xa1b2c3d4 || data.readUInt32BE(0) === 0xa1b23c4d;
  if (!le && !be) throw new Error('not a pcap capture (bad magic number)');
  const u32 = (at: number) => (le ? data.readUInt32LE(at) : data.readUInt32BE(at));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${u32(20)} is not Ethernet`);
  const frames: Buffer[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    const caplen = u32(at + 8);
    frames.push(data.subarray(at + 16, at + 16 + caplen));
    at += 16 + caplen;
  }
  return frames;
}

export function ipv4At(b: Buffer, at: number): Ipv4Header | undefined {
  if (b.length < at + 20 || b[at]! >> 4 !== 4) return undefined;
  const ihl = (b[at]! & 0x0f) * 4;
  return { src: ip(b, at + 12), dst: ip(b, at + 16), protocol: b[at + 9]!, ttl: b[at + 8]!, payload: at + ihl, totalLength: b.readUInt16BE(at + 2) };
}

/** Reads an Ethernet frame seen on the node network and says what it carries. */
export function classifyFrame(frame: Buffer, tunnelPorts: { vxlan: number; udp: number }): Encapsulation | undefined {
  if (frame.length < 14 || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const outer = ipv4At(frame, 14);
  if (!outer) return undefined;
  if (outer.protocol === IPPROTO_UDP && frame.length >= outer.payload + 8) {
    const srcPort = frame.readUInt16BE(outer.payload);
    const dstPort = frame.readUInt16BE(outer.payload + 2);
    const body = outer.payload + 8;
    if (dstPort === tunnelPorts.vxlan && frame.length >= body + 8 + 14) {
      // VXLAN header: flags (I bit 0x08), 3 reserved bytes, 24-bit VNI, 1 reserved byte; then the inner Ethernet frame.
      const vni = frame.readUIntBE(body + 4, 3);
      const innerEthertype = frame.readUInt16BE(body + 8 + 12);
      const inner = innerEthertype === ETHERTYPE_IPV4 ? ipv4At(frame, body + 8 + 14) : undefined;
      if (inner && (frame[body]! & 0x08) !== 0) return { kind: 'vxlan', outer, srcPort, dstPort, vni, inner };
    }
    if (dstPort === tunnelPorts.udp || srcPort === tunnelPorts.udp) {
      const inner = ipv4At(frame, body);
      if (inner) return { kind: 'udp', outer, srcPort, dstPort, inner };
    }
  }
  return { kind: 'plain', outer };
}
