import t from 'tap';
import { formatJson, formatJunit, formatTap, summaryLine, type VerifyReport } from '../../../src/verify/report.js';

const report: VerifyReport = {
  lab: 'demo',
  backend: 'host-gw',
  results: [
    { path: 'P2', name: 'P2 pod a -> b on node1 via cbr0', ok: true, details: ['ping ok'], durationMs: 12 },
    { path: 'P3', name: 'P3 pod a (node1) -> c (node2) # hash & <xml>', ok: false, details: ['ping 10.244.1.2 got no reply'], durationMs: 2003 },
  ],
};

t.test('TAP 14 with diagnostics for failures', async (t) => {
  t.equal(
    formatTap(report),
    `TAP version 14
1..2
ok 1 - P2 pod a -> b on node1 via cbr0
not ok 2 - P3 pod a (node1) -> c (node2) \\# hash & <xml>
  ---
  path: P3
  details:
    - "ping 10.244.1.2 got no reply"
  duration_ms: 2003
  ...
# pass 1
# fail 1
`,
  );
});

t.test('JUnit escapes and counts', async (t) => {
  const xml = formatJunit(report);
  t.match(xml, /<testsuite name="demo" tests="2" failures="1" errors="0"/);
  t.match(xml, /name="P3 pod a \(node1\) -&gt; c \(node2\) # hash &amp; &lt;xml&gt;"/);
  t.match(xml, /<failure message="ping 10.244.1.2 got no reply">/);
});

t.test('JSON and the summary line', async (t) => {
  const json = JSON.parse(formatJson(report));
  t.same([json.passed, json.failed, json.checks.length], [1, 1, 2]);
  t.equal(summaryLine(report), '1 passed, 1 failed');
});
