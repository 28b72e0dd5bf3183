/**
 * Measured ReachabilityTests as text and JSON (pure): the upstream
 * truth-table format per port (rows = from, columns = to, `.` connected,
 * `X` blocked, `?` unknown), a comparison table (`.` where measured equals
 * expected, `X` where it differs), and for every differing cell the policy
 * rule the engine names and the kernel rule that counted the packet.
 */
import { disagrees, type MeasuredCell, type MeasuredTest, type Measured } from './run.js';

/** Cells the test does not probe: self (never policed) and targets that do not serve the port. */
const NOT_PROBED = '-';

const mark = (r: Measured): string => (r === 'allowed' ? '.' : r === 'blocked' ? 'X' : '?');

export function table(test: MeasuredTest, port: string, value: (c: MeasuredCell) => string): string {
  const cells = new Map(test.cells.filter((c) => c.table === port).map((c) => [`${c.from} ${c.to}`, c]));
  const first = Math.max(1, ...test.rows.map((r) => r.length));
  const head = ['-'.padEnd(first), ...test.columns].join('  ');
  const lines = test.rows.map((r) =>
    [r.padEnd(first), ...test.columns.map((col) => {
      const c = cells.get(`${r} ${col}`);
      return (c ? value(c) : NOT_PROBED).padEnd(col.length);
    })].join('  ').trimEnd(),
  );
  return [head, ...lines].join('\n');
}

export const measuredTable = (t: MeasuredTest, port: string) => table(t, port, (c) => mark(c.measured === 'unknown' && !c.probe ? c.prediction.result : c.measured));
export const expectedTable = (t: MeasuredTest, port: string) => table(t, port, (c) => mark(c.expected));
export const comparisonTable = (t: MeasuredTest, port: string) => table(t, port, (c) => (c.ok ? '.' : 'X'));

/** What a cell's report says beyond its name: expectation, prediction, measurement, and why. */
export function cellDetails(c: MeasuredCell): string[] {
  const measured = c.outcome ? `measured ${c.measured} (${c.outcome.detail})` : 'not probed (the test server speaks TCP and UDP only): predicted only';
  const lines = [`expected ${c.expected}, predicted ${c.prediction.result}, ${measured}; via ${c.via}`, `policy: ${c.prediction.reason}`];
  if (disagrees(c)) lines.push(`the kernel disagrees with the engine's prediction (${c.prediction.result})`);
  for (const k of c.kernel ?? []) lines.push(`kernel: ${k}`);
  return lines;
}

export function formatTestHuman(t: MeasuredTest): string {
  const wrong = t.cells.filter((c) => !c.ok);
  const out = [`ReachabilityTest ${t.name} (via ${t.via}): ${t.cells.length} cells, ${wrong.length ? `${wrong.length} differ from the expectation` : 'all as expected'}`];
  for (const port of t.tables.map((p) => p.label)) {
    const sctp = port.endsWith('/SCTP') ? ' (predicted: the test server speaks TCP and UDP only)' : '';
    out.push('', `${port} measured${sctp} (. connected, X blocked, ? unknown, - not probed):`, measuredTable(t, port));
    out.push('', `${port} measured against expected (X: differs):`, comparisonTable(t, port));
  }
  if (wrong.length) {
    out.push('', 'cells that differ:');
    for (const c of wrong) out.push(`  ${c.name}`, ...cellDetails(c).map((d) => `      ${d}`));
  }
  return out.join('\n');
}

export function testJson(t: MeasuredTest) {
  const grid = (port: string, f: (t: MeasuredTest, port: string) => string) => f(t, port).split('\n');
  return {
    name: t.name,
    via: t.via,
    rows: t.rows,
    columns: t.columns,
    tables: t.tables.map((p) => ({ port: p.label, measured: grid(p.label, measuredTable), expected: grid(p.label, expectedTable), comparison: grid(p.label, comparisonTable) })),
    cells: t.cells.map((c) => ({
      name: c.name,
      from: c.from,
      to: c.to,
      port: c.port,
      protocol: c.protocol,
      via: c.via,
      ok: c.ok,
      expected: c.expected,
      predicted: c.prediction.result,
      measured: c.measured,
      ...(c.outcome ? { outcome: c.outcome.outcome, detail: c.outcome.detail } : { probed: false }),
      reason: c.prediction.reason,
      ...(c.kernel ? { kernel: c.kernel } : {}),
    })),
  };
}
