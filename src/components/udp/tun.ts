/**
 * The daemon's end of a TUN device. Node has no way to watch an arbitrary
 * fd for readability, so the fd is non-blocking and a poll(2) on a worker
 * thread says when packets wait; the main thread then drains them with
 * plain read(2) calls, one packet each. Under load one worker round trip
 * thus carries a whole batch, and packets are handed on in the order the
 * kernel queued them (several blocking reads in flight on the thread pool
 * would reorder them, which TCP pays for in retransmissions).
 *
 * The device is opened with a virtio-net header and checksum and TCP
 * segmentation offloads (vnet.ts): reads hand over the header with each
 * packet, writes put one before it.
 */
import { closeSync, writevSync } from 'node:fs';
import { openTun, readNonBlocking, TUN_F_CSUM, TUN_F_TSO4, waitReadable } from '../../kernel/ffi.js';
import { readVnetHeader, VNET_HEADER_LENGTH, writeVnetHeader, type VnetHeader } from './vnet.js';

/** The header and the largest IPv4 packet; a read into a smaller buffer would truncate. */
const READ_BUFFER = VNET_HEADER_LENGTH + 65535;
/**
 * Packets read per wake-up before yielding to the event loop, so the other
 * direction (UDP to TUN) is served while the TUN stays busy.
 */
const BATCH = 64;
/**
 * How long a poll may sit on its worker thread. Process exit joins the
 * worker threads, so this bounds how long SIGTERM takes; an idle daemon
 * pays ten empty wake-ups a second for it.
 */
const POLL_TIMEOUT_MS = 100;

export class TunDevice {
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER);
  private closed = false;
  private fdOpen = true;
  private onPacket?: (packet: Buffer, header: VnetHeader) => void;
  private readonly writeHeader = Buffer.alloc(VNET_HEADER_LENGTH);
  private onError?: (err: Error) => void;

  private constructor(
    readonly name: string,
    readonly fd: number,
  ) {}

  /** Attaches to the existing TUN device `name` of this network namespace. */
  static open(name: string): TunDevice {
    return new TunDevice(name, openTun(name, { nonBlocking: true, offloads: TUN_F_CSUM | TUN_F_TSO4 }));
  }

  /**
   * Starts reading. `onPacket` gets a view of the read buffer (the packet
   * after its virtio-net header, and the header) that is only valid until it
   * returns: copy what must outlive the call. `onError` gets
   * a read failure (the device deleted, the fd closed); reading stops then.
   */
  start(onPacket: (packet: Buffer, header: VnetHeader) => void, onError: (err: Error) => void): void {
    if (this.onPacket) throw new Error(`${this.name}: already reading`);
    this.onPacket = onPacket;
    this.onError = onError;
    this.drain();
  }

  private arm(): void {
    waitReadable(this.fd, POLL_TIMEOUT_MS, (err) => {
      if (this.closed) return;
      if (err) {
        this.fail(new Error(`${this.name}: waiting for packets failed: ${err.message}`));
        return;
      }
      // Readable or not (timeout, interrupted poll), reading settles it.
      this.drain();
    });
  }

  private drain(): void {
    const onPacket = this.onPacket!;
    try {
      for (let i = 0; i < BATCH; i++) {
        const n = readNonBlocking(this.fd, this.buffer, `cannot read from ${this.name}`);
        if (n < 0) break;
        if (n > VNET_HEADER_LENGTH) onPacket(this.buffer.subarray(VNET_HEADER_LENGTH, n), readVnetHeader(this.buffer));
        if (this.closed) return;
      }
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.arm();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.onError?.(err);
  }

  /** Injects one IP packet after `header`; throws with the device name on failure (EIO while the device is down). */
  write(packet: Buffer, header: VnetHeader): void {
    writeVnetHeader(header, this.writeHeader);
    const n = writevSync(this.fd, [this.writeHeader, packet]);
    if (n !== VNET_HEADER_LENGTH + packet.length) throw new Error(`${this.name}: wrote ${n} of ${VNET_HEADER_LENGTH + packet.length} bytes of a packet and its header`);
  }

  /**
   * Stops reading and closes the fd. A poll may still be waiting on a worker
   * thread; it ends within POLL_TIMEOUT_MS, sees `closed`, and reads nothing.
   */
  close(): void {
    this.closed = true;
    if (!this.fdOpen) return;
    this.fdOpen = false;
    closeSync(this.fd);
  }
}
