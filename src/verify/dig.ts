/**
 * Runs `dig` the way a process in a pod would: through `ip netns exec`, so
 * the pod's /etc/netns resolv.conf (nameserver, search list, ndots) is the
 * one dig reads, and parses the status and answer section of its output.
 */
import { run } from '../kernel/exec.js';
import { inNetnsEtc } from '../kernel/netns.js';

export interface DigAnswer {
  name: string;
  ttl: number;
  type: string;
  /** dig's text of the record data, e.g. `10.96.0.10`, `0 100 80 web.default.svc.cluster.local.` */
  data: string;
}

export interface DigResult {
  /** `NOERROR`, `NXDOMAIN`, ...; undefined when no answer came (timeout, no server). */
  status?: string;
  answers: DigAnswer[];
  /** The flags line, e.g. `qr aa rd ra`. */
  flags: string;
  ms: number;
  /** dig's output, for messages. */
  text: string;
}

/** Parses dig's default output. */
export function parseDig(text: string): Omit<DigResult, 'ms'> {
  const status = /status: ([A-Z]+)/.exec(text)?.[1];
  const flags = /;; flags: ([^;]*);/.exec(text)?.[1]?.trim() ?? '';
  const answers: DigAnswer[] = [];
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(';; ANSWER SECTION:'));
  if (start >= 0) {
    for (const line of lines.slice(start + 1)) {
      if (line.trim() === '' || line.startsWith(';')) break;
      const [name, ttl, , type, ...data] = line.split(/\s+/);
      answers.push({ name: name ?? '', ttl: Number(ttl), type: type ?? '', data: data.join(' ') });
    }
  }
  return { ...(status ? { status } : {}), answers, flags, text };
}

export interface DigOptions {
  search?: boolean;
  tcp?: boolean;
}

const queryWords = (name: string, type: string, opts: DigOptions) => ['+tries=1', '+time=2', opts.search ? '+search' : '+nosearch', opts.tcp ? '+tcp' : '+notcp', name, type];

export async function dig(netns: string, name: string, type: string, opts: DigOptions = {}): Promise<DigResult> {
  const argv = inNetnsEtc(netns, ['dig', ...queryWords(name, type, opts)]);
  const started = performance.now();
  const r = await run(argv, { context: `dig ${name} ${type} in ${netns}`, allowFailure: true, timeoutMs: 5000 });
  return { ...parseDig(r.stdout), ms: Math.round(performance.now() - started) };
}

export interface DigQuery extends DigOptions {
  name: string;
  type: string;
}

/** dig's batch output, one chunk per query: each starts with the `; <<>> DiG … <<>> ARGS` line it echoes. */
export function splitBatch(text: string): string[] {
  return text.split(/^(?=; <<>> DiG )/m).filter((c) => c.startsWith('; <<>> DiG '));
}

/**
 * Several lookups from one namespace in one `dig -f -` (each line its own
 * query, with its own options): one process instead of one per name,
 * which is most of what `verify` spends on DNS. Answers come back in the
 * order asked; a batch whose output cannot be told apart per query falls
 * back to one dig each. `ms` is the batch's time.
 */
export async function digBatch(netns: string, queries: readonly DigQuery[]): Promise<DigResult[]> {
  if (queries.length === 1) return [await dig(netns, queries[0]!.name, queries[0]!.type, queries[0]!)];
  // Names come from the plan (DNS-1123) and fixed types; one query per line, words separated by spaces.
  const input = queries.map((q) => queryWords(q.name, q.type, q).join(' ')).join('\n') + '\n';
  const started = performance.now();
  const r = await run(inNetnsEtc(netns, ['dig', '-f', '-']), { context: `dig -f - (${queries.length} lookups) in ${netns}`, input, allowFailure: true, timeoutMs: 5000 * queries.length });
  const ms = Math.round(performance.now() - started);
  const chunks = splitBatch(r.stdout);
  if (chunks.length !== queries.length) return Promise.all(queries.map((q) => dig(netns, q.name, q.type, q)));
  return chunks.map((c) => ({ ...parseDig(c), ms }));
}
