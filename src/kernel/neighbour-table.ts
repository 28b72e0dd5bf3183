/**
 * The kernel's IPv4 neighbour (ARP) table is one table for the whole
 * machine: every namespace's entries count against the same limit,
 * `net.ipv4.neigh.default.gc_thresh3` of the root namespace (1024 by
 * default). A lab of many pods needs an entry per pod in its pod (the
 * gateway) and one on its node's bridge; past a few hundred pods the lab pins
 * those (see model/neighbours.ts), and what is left to ARP can still outgrow
 * a small table: new neighbours then fail to resolve and packets are dropped
 * with "neighbor table overflow!" in the kernel log. The lab never changes
 * the root namespace; it reads these numbers (read-only) to say so.
 */
import { readFileSync } from 'node:fs';
import { neighboursNeeded } from '../model/neighbours.js';

export { neighboursNeeded } from '../model/neighbours.js';

const LIMIT = '/proc/sys/net/ipv4/neigh/default/gc_thresh3';
const STATS = '/proc/net/stat/arp_cache';

/** gc_thresh3, or undefined where it cannot be read. */
export function neighbourTableLimit(): number | undefined {
  try {
    const n = Number(readFileSync(LIMIT, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** How often the table was full since boot (the `table_fulls` column, summed over CPUs). */
export function neighbourTableOverflows(): number {
  try {
    return tableFulls(readFileSync(STATS, 'utf8'));
  } catch {
    return 0;
  }
}

/** The `table_fulls` column of /proc/net/stat/arp_cache (a header, then one row of hex numbers per CPU), summed. */
export function tableFulls(text: string): number {
  const [head, ...rows] = text.trim().split('\n');
  const column = (head ?? '').trim().split(/\s+/).indexOf('table_fulls');
  if (column < 0) return 0;
  return rows.reduce((sum, row) => sum + (parseInt(row.trim().split(/\s+/)[column] ?? '0', 16) || 0), 0);
}

/** The root-namespace command that makes room for `needed` entries (twice that, rounded up to a power of two), for the user to run. */
export function raiseLimitCommand(needed: number): string {
  const size = 2 ** Math.ceil(Math.log2(Math.max(needed, 512) * 2));
  return `sysctl -w net.ipv4.neigh.default.gc_thresh1=${size / 4} net.ipv4.neigh.default.gc_thresh2=${size / 2} net.ipv4.neigh.default.gc_thresh3=${size}`;
}

/** What to tell the user when the lab needs more entries than the table holds; undefined when it fits. */
export function neighbourTableAdvice(pods: number, nodes: number, limit: number | undefined, pinned = false): string | undefined {
  const needed = neighboursNeeded(pods, nodes, pinned);
  if (limit === undefined || needed <= limit) return undefined;
  return (
    `${pods} pods need about ${needed} neighbour (ARP) entries, but the kernel keeps at most ${limit} for the whole machine ` +
    `(net.ipv4.neigh.default.gc_thresh3, shared by every namespace): past it, new neighbours fail to resolve and packets are dropped. ` +
    `The lab never changes the root namespace; to run a lab this size, raise it there yourself: ${raiseLimitCommand(needed)}`
  );
}

/** Why checks may have failed when the table overflowed while they ran. */
export function overflowNote(overflows: number, pods: number, nodes: number, limit: number | undefined, pinned = false): string {
  const needed = neighboursNeeded(pods, nodes, pinned);
  return (
    `the kernel's neighbour (ARP) table was full ${overflows} times during these checks: it holds ${limit ?? 'a fixed number of'} entries for every namespace ` +
    `on this machine together, and a lab of ${pods} pods needs about ${needed}. Failures above may be that rather than the lab; ` +
    `the lab never changes the root namespace, where it can be raised: ${raiseLimitCommand(needed)}`
  );
}
