/**
 * Rendered kernel work: `ip -batch` lines per network namespace, grouped in
 * stages. Everything in one stage may run in parallel; a stage starts when
 * the previous one is done (a veth is created from one side before the
 * other side can address it). One process per namespace and stage, never one
 * per object.
 */
export interface NetnsBatch {
  netns: string;
  lines: string[];
  /** The iproute2 program that reads the lines: `ip` (default) or `bridge` (fdb entries). */
  tool?: 'ip' | 'bridge';
}

export interface Sysctl {
  netns: string;
  key: string;
  value: string;
}

export interface RenderedFile {
  path: string;
  content: string;
}

/** Merges batches of the same namespace, keeping first-seen order of namespaces and lines. */
export function mergeBatches(...groups: NetnsBatch[][]): NetnsBatch[] {
  const byKey = new Map<string, NetnsBatch>();
  for (const group of groups) {
    for (const b of group) {
      const tool = b.tool ?? 'ip';
      const key = `${tool} ${b.netns}`;
      const merged = byKey.get(key) ?? { netns: b.netns, lines: [], ...(tool === 'ip' ? {} : { tool }) };
      merged.lines.push(...b.lines);
      byKey.set(key, merged);
    }
  }
  return [...byKey.values()].filter((b) => b.lines.length > 0);
}

/** Text of one batch, as `ip -n <netns> -batch -` reads it. */
export function batchText(batch: NetnsBatch): string {
  return batch.lines.join('\n') + '\n';
}
