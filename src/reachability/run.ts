/**
 * Measuring resolved ReachabilityTests on the running lab: every cell's
 * connection at once (1 s timeout), then, for each cell where the kernel
 * disagrees with the user or with the engine, that cell alone again while
 * the policy rules' counters are read before and after, to name the kernel
 * rule that matched.
 */
import { readCountedRules, type CountedRule } from '../kernel/netfilter.js';
import type { Plan } from '../model/types.js';
import { NETPOL_TABLE } from '../components/network-policy/nftables.js';
import { mapLimit } from '../util/concurrency.js';
import { probeConnect, type ProbeOutcome } from './probe.js';
import type { Cell, ResolvedTest } from './resolve.js';
import type { Result } from '../spec/reachability.js';

export const PROBE_TIMEOUT_MS = 1000;
/** Sockets open at once: a 9x9 model on two ports and protocols is 324 cells. */
const CONCURRENCY = 400;

export type Measured = Result | 'unknown';

export interface MeasuredCell extends Cell {
  measured: Measured;
  outcome?: ProbeOutcome;
  /** Measured equals expected (for SCTP, which is not probed: predicted equals expected). */
  ok: boolean;
  /** For a cell that disagrees: the policy rules whose counters the cell's packets moved, per node. */
  kernel?: string[];
}

export interface MeasuredTest extends Omit<ResolvedTest, 'cells'> {
  cells: MeasuredCell[];
}

/** The kernel and the engine both gave a definite answer, and not the same one. */
export function disagrees(c: Pick<MeasuredCell, 'measured' | 'prediction' | 'outcome'>): boolean {
  return c.outcome !== undefined && c.measured !== 'unknown' && c.prediction.result !== 'unknown' && c.measured !== c.prediction.result;
}

function measuredOf(o: ProbeOutcome): Measured {
  return o.outcome === 'connected' ? 'allowed' : o.outcome === 'error' ? 'unknown' : 'blocked';
}

/** The netns names of the nodes a cell's packets may cross: the source's and every endpoint's. */
function nodesOf(plan: Plan, cell: Cell): string[] {
  const names = new Set<string>();
  const src = plan.pods.find((p) => p.key === cell.from);
  if (src) names.add(src.node);
  for (const d of cell.prediction.deliveries) if (d.endpoint) names.add(d.endpoint.node);
  const dst = plan.pods.find((p) => p.key === cell.to);
  if (dst) names.add(dst.node);
  return plan.nodes.filter((n) => names.has(n.name)).map((n) => n.name);
}

async function counters(plan: Plan, nodes: string[]): Promise<Map<string, CountedRule[]>> {
  const mode = plan.spec.serviceNetwork.proxyMode;
  const read = await Promise.all(
    nodes.map(async (name) => {
      const node = plan.nodes.find((n) => n.name === name)!;
      const rules = await readCountedRules(node.netns, mode, `inet ${NETPOL_TABLE}`, `reading the policy counters of node ${name}`);
      return [name, mode === 'iptables' ? rules.filter((r) => r.chain.startsWith('filter NETPOL-')) : rules] as const;
    }),
  );
  return new Map(read);
}

/** The cell's connection alone, with the policy rules whose counters it moved. */
async function diagnose(plan: Plan, cell: MeasuredCell): Promise<string[]> {
  if (!cell.probe) return [];
  const nodes = nodesOf(plan, cell);
  const before = await counters(plan, nodes);
  await probeConnect({ ...cell.probe, timeoutMs: PROBE_TIMEOUT_MS, zone: plan.spec.clusterDomain });
  const after = await counters(plan, nodes);
  const moved: string[] = [];
  for (const [node, rules] of after) {
    const old = before.get(node) ?? [];
    rules.forEach((r, i) => {
      const was = old[i];
      // Only rules that decide something: a mark, an accept, a drop (not the dispatch jumps every packet takes).
      if (was && r.packets > was.packets && /MARK --set-xmark 0x10000|-j DROP|^accept$|^drop$|-j NETPOL-EXC/.test(r.rule)) moved.push(`${node} ${r.chain}: ${r.comment ? `"${r.comment}"` : r.rule}`);
    });
  }
  return moved.length ? moved : [`no network-policy rule on ${nodes.join(', ')} counted the connection: no policy decided it there`];
}

export async function measureTests(plan: Plan, tests: ResolvedTest[], timeoutMs = PROBE_TIMEOUT_MS): Promise<MeasuredTest[]> {
  const all = tests.flatMap((t) => t.cells);
  const outcomes = await mapLimit(all, CONCURRENCY, (c) => (c.probe ? probeConnect({ ...c.probe, timeoutMs, zone: plan.spec.clusterDomain }) : Promise.resolve(undefined)));
  const measured = new Map<Cell, MeasuredCell>();
  all.forEach((c, i) => {
    const outcome = outcomes[i];
    const m: Measured = outcome ? measuredOf(outcome) : 'unknown';
    // SCTP is predicted only: the cell holds when the engine agrees with the user.
    const ok = outcome ? m === c.expected : c.prediction.result === c.expected;
    measured.set(c, { ...c, measured: m, ...(outcome ? { outcome } : {}), ok });
  });
  // One at a time, so each cell's counters are its own.
  for (const m of measured.values()) {
    if (m.outcome && (!m.ok || disagrees(m))) m.kernel = await diagnose(plan, m);
  }
  return tests.map((t) => ({ ...t, cells: t.cells.map((c) => measured.get(c)!) }));
}
