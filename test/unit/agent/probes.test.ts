import t, { type Test } from 'tap';
import { mock } from 'node:test';
import { ProbeScheduler, type ProbeTarget } from '../../../dist/agent/probes.js';

const target = (key: string): ProbeTarget => ({
  key,
  nodeNetns: 'unused',
  podIP: '10.244.0.2',
  probe: { handler: { kind: 'httpGet', path: '/ready', port: 8080 }, port: 8080, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 1 },
});

/** Rounds here never reach the network (`running` says no), so no socket is ever made. */
const noNamespaces = () => {
  throw new Error('no namespace in a unit test');
};

/**
 * The scheduler's rounds run on setTimeout; these tests drive a mocked clock
 * in steps, so they count rounds against the schedule, not the wall clock.
 */
function mockedClock(t: Test): (ms: number, step?: number) => void {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.teardown(() => mock.timers.reset());
  return (ms, step = 5) => {
    for (let done = 0; done < ms; done += step) mock.timers.tick(Math.min(step, ms - done));
  };
}

t.test('probing goes on after a reload that leaves a probe unchanged', async (t) => {
  const advance = mockedClock(t);
  // `running` is asked once per probe round; false keeps the rounds off the network.
  const rounds = new Map<string, number>();
  const s = new ProbeScheduler(
    () => {},
    () => {},
    (key) => {
      rounds.set(key, (rounds.get(key) ?? 0) + 1);
      return false;
    },
    noNamespaces,
  );
  t.teardown(() => s.stopAll());
  s.apply([target('default/db-1/db')]);
  t.equal(rounds.get('default/db-1/db') ?? 0, 0, 'nothing runs inside apply');
  mock.timers.tick(0);
  t.equal(rounds.get('default/db-1/db'), 1, 'the first round runs at once');
  // What `apply` or `scale` hands over: an equal target, as a new object.
  s.apply([target('default/db-1/db'), target('default/web/web')]);
  advance(2300);
  t.ok((rounds.get('default/db-1/db') ?? 0) >= 3, `the unchanged probe kept being scheduled: ${rounds.get('default/db-1/db')} rounds`);
  t.ok((rounds.get('default/web/web') ?? 0) >= 2, 'the added one runs too');
  s.apply([target('default/web/web')]);
  const before = rounds.get('default/db-1/db');
  advance(1200);
  t.equal(rounds.get('default/db-1/db'), before, 'a removed probe stops');
  t.ok((rounds.get('default/web/web') ?? 0) > 2, 'the one that stays goes on');
});

t.test('a container that does not run yet is looked at again within 100 ms, not a period later', async (t) => {
  const advance = mockedClock(t);
  let rounds = 0;
  const s = new ProbeScheduler(
    () => {},
    () => {},
    () => {
      rounds++;
      return false;
    },
    noNamespaces,
  );
  t.teardown(() => s.stopAll());
  s.apply([{ ...target('default/dns/dns'), probe: { ...target('x').probe, periodSeconds: 10 } }]);
  mock.timers.tick(0);
  t.equal(rounds, 1, 'probed at once');
  advance(100);
  t.ok(rounds >= 2, `looked at again within 100 ms of a 10 s period: ${rounds} rounds`);
  const early = rounds;
  advance(1000);
  t.ok(rounds > early, 'and keeps being looked at while it does not run');
});

t.test('an HTTP probe connects from the socket it is given, one connection per probe, as the kubelet does', async (t) => {
  const { createServer } = await import('node:http');
  const { Socket } = await import('node:net');
  const { httpProbe, tcpProbe } = await import('../../../dist/runtime/probe-net.js');
  const seen: { path?: string; connection?: string; agent?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url, connection: req.headers.connection, agent: req.headers['user-agent'] });
    res.statusCode = req.url === '/ready' ? 204 : 503;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  let made = 0;
  const from = () => {
    made++;
    return new Socket();
  };
  const job = { id: 7, ip: '127.0.0.1', port, timeoutMs: 2000 };
  t.same(await httpProbe({ ...job, kind: 'http', path: '/ready' }, from), { id: 7, ok: true, detail: 'HTTP 204' });
  t.same(await httpProbe({ ...job, kind: 'http', path: '/other' }, from), { id: 7, ok: false, detail: 'HTTP probe failed with statuscode: 503' });
  t.same((await tcpProbe({ ...job, kind: 'tcp' }, from)).ok, true);
  t.equal(made, 3, 'every probe took its socket from the source');
  t.same(seen, [
    { path: '/ready', connection: 'close', agent: 'kube-probe/kube-netlab' },
    { path: '/other', connection: 'close', agent: 'kube-probe/kube-netlab' },
  ]);
  const broken = () => {
    throw new Error('setns: EPERM');
  };
  t.match(await httpProbe({ ...job, kind: 'http', path: '/ready' }, broken), { ok: false, detail: /setns: EPERM/ }, 'a socket that cannot be made fails the probe');
  t.match(await tcpProbe({ ...job, kind: 'tcp' }, broken), { ok: false, detail: /setns: EPERM/ });
});
