/**
 * A container's life on real sockets in the test's own network namespace:
 * the sockets are created through the same FFI path as in a pod, minus the
 * namespace switch, so this needs no root.
 */
import { eventually } from '../../helpers/eventually.js';
import t from 'tap';
import { mock } from 'node:test';
import { createSocket } from 'node:dgram';
import { get, request, Agent } from 'node:http';
import { createServer, connect } from 'node:net';
import { openListeningSocketHere, SyscallError } from '../../../dist/kernel/ffi.js';
import { Container, type ContainerDeps } from '../../../dist/agent/containers.js';
import type { ContainerTarget } from '../../../dist/agent/plan-targets.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function target(tcp: number, udp: number): ContainerTarget {
  return {
    key: 'default/web/app', podKey: 'default/web', namespace: 'default', pod: 'web', container: 'app',
    node: 'node1', podIP: '10.244.0.2', netns: 'lab.web',
    ports: [{ port: tcp, protocol: 'TCP' }, { port: udp, protocol: 'UDP' }],
  };
}

function getJson(port: number, path = '/', agent?: Agent): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on('error', reject);
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

function udpEcho(port: number, payload: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => { s.close(); reject(new Error(`no echo within ${timeoutMs} ms`)); }, timeoutMs);
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(m.toString()); });
    s.send(payload, port, '127.0.0.1');
  });
}


function deps(logs: string[], open = (_: string, proto: 'TCP' | 'UDP', port: number) => openListeningSocketHere(proto, port)): ContainerDeps {
  return { openSocket: open, log: (m) => logs.push(m) };
}

t.test('serves HTTP and UDP echo; kill drops connections and it comes back', async (t) => {
  const [tcp, udp] = [await freePort(), await freePort()];
  const logs: string[] = [];
  const opened: string[] = [];
  const c = new Container(target(tcp, udp), deps(logs, (ns, proto, port) => { opened.push(`${ns} ${proto} ${port}`); return openListeningSocketHere(proto, port); }));
  t.teardown(() => c.stop());
  c.start();
  t.equal(c.state, 'running');
  t.same(opened, [`/run/netns/lab.web TCP ${tcp}`, `/run/netns/lab.web UDP ${udp}`], 'opens every port in the pod namespace');

  const r = await getJson(tcp);
  t.equal(r.status, 200);
  t.match(JSON.parse(r.body), { pod: 'web', namespace: 'default', container: 'app', node: 'node1', podIP: '10.244.0.2', clientIP: '127.0.0.1', serverPort: tcp });
  const bytes = await getJson(tcp, '/bytes/200000');
  t.equal(bytes.body.length, 200000);
  t.equal(bytes.headers['content-length'], '200000');
  t.equal(await udpEcho(udp, 'ping 1'), 'ping 1');

  // A keep-alive connection open across the kill must be dropped with it.
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => keepAlive.destroy());
  await getJson(tcp, '/hostname', keepAlive);
  const [held] = Object.values(keepAlive.freeSockets).flat();
  t.ok(held, 'a keep-alive connection is open');
  const closed = new Promise((resolve) => held!.once('close', resolve));

  const delay = c.kill('test');
  t.equal(delay, 1000);
  t.equal(c.state, 'terminated');
  t.equal(c.status().startedAt, undefined);
  await closed;
  t.ok(await refused(tcp), 'connection refused while the container is down');
  const down = c.status();
  c.kill('again');
  t.same(c.status(), down, 'killing a dead container changes nothing');

  await eventually(() => c.state === 'running', { what: 'the restart after the backoff' });
  t.equal(c.state, 'running', 'back after the backoff');
  t.equal(c.restartCount, 1, 'the second kill added no restart of its own');
  t.equal((await getJson(tcp, '/hostname')).body, 'web\n');
  t.equal(await udpEcho(udp, 'ping 2'), 'ping 2');
  t.match(logs.join('\n'), /container app of pod default\/web killed \(test\), restart in 1000 ms/);
});

t.test('a port in use leaves the container waiting, retried until it frees', async (t) => {
  const [tcp, udp] = [await freePort(), await freePort()];
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(tcp, '0.0.0.0', r));
  const logs: string[] = [];
  const c = new Container(target(tcp, udp), deps(logs));
  t.teardown(() => c.stop());
  c.start();
  t.equal(c.state, 'waiting');
  t.match(c.lastError, new RegExp(`cannot listen on TCP port ${tcp} in our own network namespace: bind: EADDRINUSE \\(address already in use\\); another socket`));
  t.match(c.status(), { state: 'waiting', restartCount: 0, lastError: /EADDRINUSE/ });
  t.notOk(await udpEcho(udp, 'x', 300).catch(() => false), 'all or nothing: the UDP port was not left open');

  await new Promise((r) => blocker.close(r));
  await eventually(() => c.state === 'running', { what: 'the retry once the port is free' });
  t.equal(c.state, 'running', 'the retry after the backoff succeeds');
  t.equal(c.restartCount, 0, 'a container that never ran has not restarted');
  t.equal(c.lastError, undefined);
  t.equal((await getJson(tcp, '/clientip')).body, '127.0.0.1\n');
});

t.test('stop is final: no restart, no timer left', async (t) => {
  const [tcp, udp] = [await freePort(), await freePort()];
  const c = new Container(target(tcp, udp), deps([]));
  // The clock moves only when told: past the restart backoff the kill scheduled, at once.
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    c.start();
    c.kill('test');
    c.stop();
    t.equal(c.state, 'terminated');
    mock.timers.tick(60_000);
    t.equal(c.state, 'terminated', 'the restart the kill scheduled never runs');
  } finally {
    mock.timers.reset();
  }
  t.ok(await refused(tcp));
  c.start();
  t.equal(c.state, 'terminated', 'a stopped container cannot be started again');
});

t.test('failing to return home is fatal and is not swallowed', async (t) => {
  const fatal = Object.assign(new Error('could not return'), { fatal: true });
  const c = new Container(target(1, 2), deps([], () => { throw fatal; }));
  t.throws(() => c.start(), fatal);
  const soft = new SyscallError('bind', 98, 'EADDRINUSE', 'in use');
  const d = new Container(target(1, 2), deps([], () => { throw soft; }));
  t.teardown(() => d.stop());
  d.start();
  t.equal(d.state, 'waiting');
});

t.test('HTTP details: HEAD, keep-alive, 404 and 400', async (t) => {
  const [tcp, udp] = [await freePort(), await freePort()];
  const c = new Container(target(tcp, udp), deps([]));
  t.teardown(() => c.stop());
  c.start();
  const head = await new Promise<{ status: number; length: unknown; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: tcp, path: '/bytes/1000', method: 'HEAD' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], body }));
    });
    req.on('error', reject);
    req.end();
  });
  t.same(head, { status: 200, length: '1000', body: '' });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const a = JSON.parse((await getJson(tcp, '/', agent)).body);
  const b = JSON.parse((await getJson(tcp, '/', agent)).body);
  t.equal(a.clientPort, b.clientPort, 'two requests on one connection');
  t.equal((await getJson(tcp, '/missing')).status, 404);
  t.equal((await getJson(tcp, '/bytes/104857601')).status, 400);
  t.equal((await getJson(tcp, '/bytes/0')).body, '');
});
