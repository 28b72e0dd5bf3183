/**
 * The virtio-net header a TUN device opened with IFF_VNET_HDR puts before
 * every packet, and what the forwarder does with it. With checksum and TCP
 * segmentation offloads on (TUNSETOFFLOAD), the kernel hands the daemon a
 * whole TCP send of up to 64 KiB as one "super-packet" instead of forty
 * MTU-sized ones, with its TCP checksum left partial; one read, one UDP
 * datagram (the node network fragments it and the peer's kernel
 * reassembles it) and one write move what used to take forty of each.
 *
 * On the wire the datagram still carries a bare IP packet, as flannel's
 * udp backend does, so the sender settles every checksum it can: a packet
 * that fits the MTU leaves with its checksum complete. Only a super-packet
 * (longer than the MTU, which only segmentation offload makes) travels
 * with its partial checksum, and the receiver writes it back into its TUN
 * with a header asking the kernel to segment it at the MTU and finish each
 * segment's checksum, as a NIC would.
 *
 * Pure: buffers in, buffers out.
 */
import { onesComplementSum } from './packet.js';

/** struct virtio_net_hdr, the size TUN uses unless told otherwise (TUNSETVNETHDRSZ). */
export const VNET_HEADER_LENGTH = 10;

/** flags: the checksum from csumStart on is to be completed (the field at csumStart + csumOffset holds the pseudo-header sum). */
export const NEEDS_CSUM = 1;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
/** Or-ed into gsoType: the TCP stream uses ECN. */
export const GSO_ECN = 0x80;

export interface VnetHeader {
  flags: number;
  gsoType: number;
  /** Length of the headers copied into every segment (IP + TCP). */
  headerLength: number;
  /** Payload bytes per segment. */
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** The header at the start of `buf` (little-endian, as on every architecture the lab runs on). */
export function readVnetHeader(buf: Uint8Array): VnetHeader {
  const view = new DataView(buf.buffer, buf.byteOffset, VNET_HEADER_LENGTH);
  return {
    flags: view.getUint8(0),
    gsoType: view.getUint8(1),
    headerLength: view.getUint16(2, true),
    gsoSize: view.getUint16(4, true),
    csumStart: view.getUint16(6, true),
    csumOffset: view.getUint16(8, true),
  };
}

export function writeVnetHeader(h: VnetHeader, out: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, VNET_HEADER_LENGTH);
  view.setUint8(0, h.flags);
  view.setUint8(1, h.gsoType);
  view.setUint16(2, h.headerLength, true);
  view.setUint16(4, h.gsoSize, true);
  view.setUint16(6, h.csumStart, true);
  view.setUint16(8, h.csumOffset, true);
}

const UDP_CHECKSUM_OFFSET = 6;

/**
 * Finishes a partial checksum in place: the one's-complement sum of
 * everything from `start` (the field holds the pseudo-header's sum already),
 * complemented. A UDP checksum that comes out 0 is sent as 0xffff, since 0
 * means "no checksum".
 */
export function completeChecksum(packet: Uint8Array, start: number, offset: number): void {
  const field = start + offset;
  if (field + 2 > packet.length) return;
  let sum = ~onesComplementSum(packet, start) & 0xffff;
  if (sum === 0 && offset === UDP_CHECKSUM_OFFSET) sum = 0xffff;
  packet[field] = sum >> 8;
  packet[field + 1] = sum & 0xff;
}

/**
 * What to do with a packet read from the TUN: settle its checksum unless it
 * is a super-packet that will be segmented at the far end (its checksum must
 * stay partial for that). Returns whether it travels as a super-packet.
 */
export function prepareForWire(header: VnetHeader, packet: Uint8Array, mtu: number): boolean {
  const superPacket = (header.gsoType & ~GSO_ECN) === GSO_TCPV4 && packet.length > mtu;
  if (!superPacket && header.flags & NEEDS_CSUM) completeChecksum(packet, header.csumStart, header.csumOffset);
  return superPacket;
}

const IP_PROTOCOL = 9;
const TCP = 6;
const TCP_CHECKSUM_OFFSET = 16;
const NO_OFFLOAD: VnetHeader = { flags: 0, gsoType: GSO_NONE, headerLength: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };

/**
 * The header to write a packet from the wire into the TUN with: none for a
 * packet that fits the MTU (its checksums are complete), segmentation at
 * the MTU with the TCP checksum finished per segment for a TCP super-packet.
 */
export function headerForTun(packet: Uint8Array, mtu: number): VnetHeader {
  if (packet.length <= mtu || packet.length < 20 || packet[IP_PROTOCOL] !== TCP) return NO_OFFLOAD;
  const ipHeader = (packet[0]! & 0x0f) * 4;
  if (packet.length < ipHeader + 20) return NO_OFFLOAD;
  const tcpHeader = (packet[ipHeader + 12]! >> 4) * 4;
  const gsoSize = mtu - ipHeader - tcpHeader;
  if (gsoSize <= 0) return NO_OFFLOAD;
  return { flags: NEEDS_CSUM, gsoType: GSO_TCPV4, headerLength: ipHeader + tcpHeader, gsoSize, csumStart: ipHeader, csumOffset: TCP_CHECKSUM_OFFSET };
}
