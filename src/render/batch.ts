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
  const byNs = new Map<string, string[]>();
  for (const group of groups) {
    for (const b of group) {
      const lines = byNs.get(b.netns) ?? [];
      lines.push(...b.lines);
      byNs.set(b.netns, lines);
    }
  }
  return [...byNs].filter(([, lines]) => lines.length > 0).map(([netns, lines]) => ({ netns, lines }));
}

/** Text of one batch, as `ip -n <netns> -batch -` reads it. */
export function batchText(batch: NetnsBatch): string {
  return batch.lines.join('\n') + '\n';
}
