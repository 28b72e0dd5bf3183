/** Runs checks with bounded parallelism; a check passes when all its probes do. */
import type { Plan } from '../model/types.js';
import { mapLimit } from '../util/concurrency.js';
import type { Check, Probe } from './checks.js';
import { digBatch, type DigResult } from './dig.js';
import { runProbe, type DnsLookup } from './probes.js';
import type { CheckResult } from './report.js';
import { traceLine } from './trace-line.js';

/**
 * In-process probes (pings, connections, HTTP requests, files) cost a socket or a read each and
 * mostly wait (a dropped one waits out its timeout), so many run at once;
 * the others start tools (ping, curl, dig, tcpdump) and stay at `concurrency`.
 */
const IN_PROCESS_CONCURRENCY = 64;

/** Lookups per batch: a name that times out holds up the rest of its batch for dig's 2 s. */
const DNS_BATCH = 8;

type DnsProbe = Extract<Probe, { kind: 'dns' }>;
interface DnsBatch {
  probes: DnsProbe[];
  answers?: Promise<DigResult[]>;
}

/**
 * The dns probes of a verify run, asked in batches per namespace: the
 * first probe of a batch that is needed starts it, the others wait for the
 * same answer list.
 */
function batchedDns(checks: readonly Check[]): DnsLookup {
  const byNetns = new Map<string, DnsProbe[]>();
  for (const c of checks) for (const p of c.probes) if (p.kind === 'dns') byNetns.set(p.from.netns, [...(byNetns.get(p.from.netns) ?? []), p]);
  const place = new Map<DnsProbe, { batch: DnsBatch; index: number }>();
  for (const probes of byNetns.values()) {
    for (let i = 0; i < probes.length; i += DNS_BATCH) {
      const batch: DnsBatch = { probes: probes.slice(i, i + DNS_BATCH) };
      batch.probes.forEach((p, index) => place.set(p, { batch, index }));
    }
  }
  return async (probe) => {
    const at = place.get(probe);
    if (!at) throw new Error(`dns probe ${probe.name} from ${probe.from.label} was not among the checks`);
    const { batch } = at;
    batch.answers ??= digBatch(probe.from.netns, batch.probes.map((p) => ({ name: p.name, type: p.type, search: p.search, tcp: p.tcp })));
    return (await batch.answers)[at.index]!;
  };
}

async function runCheck(check: Check, plan: Plan, lookup: DnsLookup): Promise<CheckResult> {
  const started = performance.now();
  const results = await Promise.all(check.probes.map((p) => runProbe(p, lookup)));
  // A failed probe names the trace that follows its packet.
  const explain = check.probes.flatMap((p, i) => {
    const line = results[i]!.ok ? undefined : traceLine(plan.lab, p, plan);
    return line ? [`explain: ${line}`] : [];
  });
  return {
    path: check.path,
    name: check.name,
    ok: results.every((r) => r.ok),
    details: [...results.map((r) => r.detail), ...explain.slice(0, 1)],
    durationMs: performance.now() - started,
  };
}

/** Called after each check with how many are done, how many in all and how many failed so far. */
export type CheckProgress = (done: number, total: number, failed: number) => void;

export async function runChecks(checks: Check[], plan: Plan, concurrency = 8, onProgress: CheckProgress = () => {}): Promise<CheckResult[]> {
  const isInProcess = (c: Check) => c.probes.every((p) => p.kind === 'ping' || p.kind === 'file' || p.kind === 'connect' || p.kind === 'http' || p.kind === 'service');
  const inProcess = checks.filter(isInProcess);
  const tools = checks.filter((c) => !isInProcess(c));
  const results = new Map<Check, CheckResult>();
  const lookup = batchedDns(checks);
  let failed = 0;
  const one = async (c: Check) => {
    const r = await runCheck(c, plan, lookup);
    results.set(c, r);
    if (!r.ok) failed++;
    onProgress(results.size, checks.length, failed);
  };
  await Promise.all([mapLimit(inProcess, IN_PROCESS_CONCURRENCY, one), mapLimit(tools, concurrency, one)]);
  // Reported in the order the checks were derived.
  return checks.map((c) => results.get(c)!);
}
