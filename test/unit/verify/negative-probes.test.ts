/**
 * Negative probes (`unreachable`, `udp-silent`) pass on silence only when the
 * probe itself ran and heard it. One that could not run is a failure that says
 * so, never "unreachable". Neither root nor a namespace is needed: nsenter
 * fails at opening a namespace path that does not exist, and a PATH without
 * nsenter fails before anything starts.
 *
 * The other half, real silence counted as ok, needs a namespace to send from
 * and is left to the integration suite.
 */
import t from 'tap';
import { runProbe } from '../../../dist/verify/probes.js';

const from = { netns: `kube-netlab-no-such-netns-${process.pid}`, label: 'a pod that is not there' };
/** nsenter's own complaint, whatever util-linux's exact wording: it names the missing path. */
const nsenterFailed = `nsenter: .*/run/netns/${from.netns}`;

t.test('unreachable: a ping whose nsenter failed is a failure that says it could not run', async (t) => {
  const r = await runProbe({ kind: 'unreachable', from, ip: '192.0.2.1' });
  t.equal(r.ok, false, 'not counted as unreachable');
  t.match(r.detail, new RegExp(`^ping 192\\.0\\.2\\.1 from a pod that is not there could not run: ${nsenterFailed}`));
});

t.test('unreachable with a port: ping and curl could not run, still a failure', async (t) => {
  const r = await runProbe({ kind: 'unreachable', from, ip: '192.0.2.1', port: 80 });
  t.equal(r.ok, false, 'not counted as unreachable');
  t.match(r.detail, / could not run: /);
  t.match(r.detail, new RegExp(nsenterFailed));
});

t.test('udp-silent: a socat whose nsenter failed is a failure that says it could not run', async (t) => {
  const r = await runProbe({ kind: 'udp-silent', from, ip: '192.0.2.1', port: 53 });
  t.equal(r.ok, false, 'not counted as silent');
  t.match(r.detail, new RegExp(`^udp 192\\.0\\.2\\.1:53 from a pod that is not there: the probe could not run: ${nsenterFailed}`));
});

t.test('a missing tool: the probe throws that it is not installed instead of answering ok', async (t) => {
  const path = process.env.PATH;
  process.env.PATH = '/kube-netlab-nowhere';
  t.teardown(() => {
    if (path === undefined) delete process.env.PATH;
    else process.env.PATH = path;
  });
  const notInstalled = { name: 'EnvironmentError', message: /the program 'nsenter' is not installed/ };
  await t.rejects(runProbe({ kind: 'unreachable', from, ip: '192.0.2.1', port: 80 }), notInstalled);
  await t.rejects(runProbe({ kind: 'udp-silent', from, ip: '192.0.2.1', port: 53 }), notInstalled);
});
