/** Check results as text for people, TAP 14, JUnit XML and JSON (pure). */
import type { PathId } from './checks.js';
import type { MeasuredTest } from '../reachability/run.js';
import { formatTestHuman, measuredTable, testJson } from '../reachability/report.js';

export interface CheckResult {
  path: PathId;
  name: string;
  ok: boolean;
  details: string[];
  durationMs: number;
  /** The ReachabilityTest a cell belongs to (JUnit's class name); path checks have none. */
  group?: string;
}

export interface VerifyReport {
  lab: string;
  backend: string;
  /** Path checks, then one result per ReachabilityTest cell (path REACH). */
  results: CheckResult[];
  /** The measured ReachabilityTests, for their tables. */
  reachability?: MeasuredTest[];
  /** What the machine did that may explain failures (the kernel's neighbour table overflowing). */
  notes?: string[];
}

export function counts(report: VerifyReport): { passed: number; failed: number } {
  const failed = report.results.filter((r) => !r.ok).length;
  return { passed: report.results.length - failed, failed };
}

export function summaryLine(report: VerifyReport): string {
  const { passed, failed } = counts(report);
  return `${passed} passed, ${failed} failed`;
}

/** Path checks one per line; ReachabilityTests as their truth tables, with every cell that differs explained. */
export function formatHuman(report: VerifyReport): string {
  const lines = report.results
    .filter((r) => r.path !== 'REACH')
    .map((r) => {
      const head = `${r.ok ? 'PASS' : 'FAIL'}  ${r.name}`;
      return r.ok ? head : `${head}\n${r.details.map((d) => `      ${d}`).join('\n')}`;
    });
  const tests = (report.reachability ?? []).map((t) => `\n${formatTestHuman(t)}`);
  const notes = (report.notes ?? []).map((n) => `\nnote: ${n}\n`);
  return `${[...lines, ...tests].join('\n')}\n${notes.join('')}\nlab ${report.lab} (${report.backend}): ${summaryLine(report)}\n`;
}

function yamlString(text: string): string {
  return JSON.stringify(text);
}

export function formatTap(report: VerifyReport): string {
  const out = ['TAP version 14', `1..${report.results.length}`];
  report.results.forEach((r, i) => {
    out.push(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${r.name.replace(/#/g, '\\#')}`);
    if (!r.ok) {
      out.push('  ---', `  path: ${r.path}`, '  details:', ...r.details.map((d) => `    - ${yamlString(d)}`), `  duration_ms: ${Math.round(r.durationMs)}`, '  ...');
    }
  });
  // The truth tables as comments, after the cells they summarise.
  for (const t of report.reachability ?? []) {
    for (const p of t.tables) out.push(`# ReachabilityTest ${t.name} ${p.label} (via ${t.via}):`, ...measuredTable(t, p.label).split('\n').map((l) => `#   ${l}`));
  }
  const { passed, failed } = counts(report);
  out.push(`# pass ${passed}`, `# fail ${failed}`);
  return out.join('\n') + '\n';
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function formatJunit(report: VerifyReport): string {
  const { failed } = counts(report);
  const total = report.results.reduce((s, r) => s + r.durationMs, 0) / 1000;
  const cases = report.results.map((r) => {
    const open = `    <testcase classname="kube-netlab.${xml(report.lab)}.${xml(r.group ?? r.path)}" name="${xml(r.name)}" time="${(r.durationMs / 1000).toFixed(3)}"`;
    if (r.ok) return `${open}/>`;
    return `${open}>\n      <failure message="${xml(r.details[0] ?? 'failed')}">${xml(r.details.join('\n'))}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kube-netlab verify" tests="${report.results.length}" failures="${failed}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xml(report.lab)}" tests="${report.results.length}" failures="${failed}" errors="0" time="${total.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function formatJson(report: VerifyReport): string {
  const { passed, failed } = counts(report);
  return (
    JSON.stringify(
      {
        lab: report.lab,
        backend: report.backend,
        passed,
        failed,
        checks: report.results.map((r) => ({ ...r, durationMs: Math.round(r.durationMs) })),
        ...(report.reachability ? { reachability: report.reachability.map(testJson) } : {}),
        ...(report.notes?.length ? { notes: report.notes } : {}),
      },
      null,
      2,
    ) + '\n'
  );
}
