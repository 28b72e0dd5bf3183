/** What the overlay daemon has moved and dropped, for its stats file and log. */

export interface Flow {
  packets: number;
  bytes: number;
}

export interface CounterSnapshot {
  /** Packets read from the TUN and sent to a peer (bytes of the inner IP packets). */
  tunToUdp: Flow;
  /** Datagrams received from peers and written into the TUN. */
  udpToTun: Flow;
  /** ICMP Net Unreachable errors written back into the TUN. */
  icmpUnreachableSent: number;
  /** Of the packets read from the TUN, TCP super-packets (segmentation offload) sent whole, to be segmented by the peer's kernel. */
  superPackets: number;
  /** Packets not forwarded, by reason. */
  drops: Record<string, number>;
}

export class Counters {
  readonly tunToUdp: Flow = { packets: 0, bytes: 0 };
  readonly udpToTun: Flow = { packets: 0, bytes: 0 };
  icmpUnreachableSent = 0;
  superPackets = 0;
  private readonly drops = new Map<string, number>();

  drop(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  snapshot(): CounterSnapshot {
    return {
      tunToUdp: { ...this.tunToUdp },
      udpToTun: { ...this.udpToTun },
      icmpUnreachableSent: this.icmpUnreachableSent,
      superPackets: this.superPackets,
      drops: Object.fromEntries([...this.drops.entries()].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}

/** Drops between two snapshots, e.g. `no-route 3, ttl-expired 1`; empty when none. */
export function dropsBetween(before: CounterSnapshot, after: CounterSnapshot): string {
  return Object.entries(after.drops)
    .map(([reason, n]) => [reason, n - (before.drops[reason] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
}
