/**
 * The control API and its client over a real Unix socket, with the agent's
 * containers replaced by a table: no root, no namespaces.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError, agentKill, agentReload, agentStatus, waitAgentReady } from '../../../dist/agent/client.js';
import { createControlServer, listenControl } from '../../../dist/agent/control.js';
import { planDigest, targetsFromPlanText } from '../../../dist/agent/plan-targets.js';
import type { AgentStatus, ContainerStatus, DaemonStatus } from '../../../dist/agent/protocol.js';
import { labDaemons } from '../../../dist/components/registry.js';
import { planLab } from '../../../dist/model/plan.js';
import type { Plan } from '../../../dist/model/types.js';
import { labSpec, pod } from '../../helpers/spec.js';
import { NotFoundError } from '../../../dist/agent/supervisor.js';
import { ChangeCounter } from '../../../dist/agent/changes.js';

/** A whole plan, as `up` writes it: one node, one pod with two containers. */
function planOf(backend: 'host-gw' | 'udp'): Plan {
  const base = labSpec({ nodes: labSpec().nodes.slice(0, 1) });
  const web = pod('default', 'web', { nodeName: 'node1', containers: [{ name: 'http', ports: [{ containerPort: 80, protocol: 'TCP' }] }, { name: 'dns', ports: [{ containerPort: 53, protocol: 'UDP' }] }] });
  return planLab({ ...base, pods: [web], podNetwork: { ...base.podNetwork, backend } });
}
const planText = JSON.stringify(planOf('host-gw'));

/** The web pod's containers as given, and every other container of the plan (the cluster DNS pods) running. */
function withWeb(...web: ContainerStatus[]): ContainerStatus[] {
  const others = targetsFromPlanText(planText)
    .filter((c) => c.podKey !== 'default/web')
    .map((c): ContainerStatus => ({ pod: c.podKey, container: c.container, state: 'running', restartCount: 0, netns: c.netns, ports: [] }));
  return [...web, ...others];
}

/** Every daemon the plan needs, running and serving, except those named. */
function daemonsServing(plan: Plan, except: string[] = []): DaemonStatus[] {
  return labDaemons(plan)
    .filter((d) => !except.includes(d.name))
    .map((d) => ({ name: d.name, netns: d.netns, state: 'running' as const, pid: 7, ready: true, restartCount: 0, log: `/run/x/${d.name}.log` }));
}

function container(name: string, state: ContainerStatus['state'], lastError?: string): ContainerStatus {
  return { pod: 'default/web', container: name, state, restartCount: 0, netns: 'lab.web', ports: [], ...(lastError ? { lastError } : {}) };
}

async function agentIn(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ctl-'));
  writeFileSync(join(dir, 'plan.json'), planText);
  const state = {
    status: { pid: 4242, startedAt: '2026-01-01T00:00:00.000Z', planVersion: planDigest(planText), containers: withWeb(container('http', 'running'), container('dns', 'running')), daemons: daemonsServing(JSON.parse(planText) as Plan) } as AgentStatus,
    kills: [] as Array<[string, string | undefined]>,
    reloadError: undefined as string | undefined,
  };
  const server = createControlServer({
    status: () => state.status,
    kill: (pod, c) => {
      if (pod !== 'default/web') throw new NotFoundError(`no pod '${pod}'`);
      state.kills.push([pod, c]);
      return { killed: [{ pod, container: c ?? 'http', restartInMs: 1000 }] };
    },
    reload: () => {
      if (state.reloadError) throw new Error(state.reloadError);
      return { planVersion: 'v2', started: ['default/new/c'], stopped: [], unchanged: 2 };
    },
  });
  await listenControl(server, join(dir, 'agent.sock'));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, state, server };
}

function raw(socketPath: string, method: string, path: string): Promise<{ status: number; body: { error?: string }; allow?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), allow: res.headers.allow }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('status, kill and reload through the client', async (t) => {
  const { dir, state } = await agentIn(t);
  t.equal(statSync(join(dir, 'agent.sock')).mode & 0o777, 0o600, 'only root may talk to the agent');
  t.same(await agentStatus(dir), state.status);
  t.same(await agentKill(dir, 'default/web', 'dns'), { killed: [{ pod: 'default/web', container: 'dns', restartInMs: 1000 }] });
  await agentKill(dir, 'default/web');
  t.same(state.kills, [['default/web', 'dns'], ['default/web', undefined]], 'no container means the whole pod');
  t.same(await agentReload(dir), { planVersion: 'v2', started: ['default/new/c'], stopped: [], unchanged: 2 });
});

t.test('errors come back as AgentError with the status and the agent message', async (t) => {
  const { dir, state } = await agentIn(t);
  const notFound = await agentKill(dir, 'default/nope').catch((e: unknown) => e);
  t.type(notFound, AgentError);
  t.match(notFound, { status: 404, message: "no pod 'default/nope'" });
  state.reloadError = 'plan.json: not valid JSON';
  t.match(await agentReload(dir).catch((e: unknown) => e), { status: 400, message: /reload refused, the running containers are unchanged: plan\.json: not valid JSON/ });

  const sock = join(dir, 'agent.sock');
  t.match(await raw(sock, 'GET', '/nope'), { status: 404, body: { error: /no route \/nope; routes: GET \/status/ } });
  t.match(await raw(sock, 'GET', '/kill?pod=default/web'), { status: 405, allow: 'POST' });
  t.match(await raw(sock, 'POST', '/status'), { status: 405, allow: 'GET' });
  t.match(await raw(sock, 'POST', '/kill'), { status: 400, body: { error: /needs \?pod=NAMESPACE\/NAME/ } });
  t.same(state.kills, [], 'nothing was killed by the bad requests');
});

t.test('a second agent on the same run directory is refused', async (t) => {
  const { dir } = await agentIn(t);
  const other = createControlServer({ status: () => { throw new Error('unused'); }, kill: () => ({ killed: [] }), reload: () => { throw new Error('unused'); } });
  await t.rejects(listenControl(other, join(dir, 'agent.sock')), /another agent already answers on .*agent\.sock/);
  t.ok((await agentStatus(dir)).pid, 'the first agent still answers');
});

t.test('a socket file left by a dead agent is replaced', async (t) => {
  const { dir, server } = await agentIn(t);
  server.close();
  // Node removes the file on close; leave one like a killed agent would.
  writeFileSync(join(dir, 'agent.sock'), '');
  const next = createControlServer({ status: () => ({ pid: 1, startedAt: '', planVersion: '', containers: [] }), kill: () => ({ killed: [] }), reload: () => ({ planVersion: '', started: [], stopped: [], unchanged: 0 }) });
  await listenControl(next, join(dir, 'agent.sock'));
  t.teardown(() => next.close());
  t.equal((await agentStatus(dir)).pid, 1);
});

t.test('no agent: the client says so and where to look', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-none-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await t.rejects(agentStatus(dir), { name: 'AgentError', message: /the agent of .* is not running \(nothing answers on .*agent\.sock\); see .*agent\.log/ });
  await t.rejects(waitAgentReady(dir, 300), /is not ready after 300 ms: the agent of .* is not running/, 'gives up at its timeout, saying why');
});

t.test('waitAgentReady waits for every container of plan.json', async (t) => {
  const { dir, state } = await agentIn(t);
  state.status.containers = withWeb(container('http', 'running'), container('dns', 'waiting', 'cannot listen on UDP port 53: EADDRINUSE'));
  const err = (await waitAgentReady(dir, 400).catch((e: unknown) => e)) as AgentError;
  t.type(err, AgentError);
  t.match(err.message, /not ready after 400 ms: 1 container\(s\) not running:\n {2}default\/web dns: waiting \(cannot listen on UDP port 53: EADDRINUSE\)/);
  t.same(err.notRunning.map((c) => c.container), ['dns']);

  state.status.containers = withWeb(container('http', 'running'));
  t.match(await waitAgentReady(dir, 400).catch((e: unknown) => e), { message: /default\/web dns: waiting \(not in the plan the agent runs\)/ }, 'a container missing from the agent counts');

  state.status.containers = withWeb(container('http', 'running'), container('dns', 'running'));
  state.status.planVersion = 'older';
  t.match(await waitAgentReady(dir, 400).catch((e: unknown) => e), { message: /the agent runs plan older, but plan\.json is [0-9a-f]{16}; reload it/ });

  state.status.planVersion = planDigest(planText);
  setTimeout(() => (state.status.containers = withWeb(container('http', 'running'), container('dns', 'running'))), 200);
  state.status.containers = withWeb(container('http', 'running'), container('dns', 'terminated'));
  const ready = await waitAgentReady(dir, 3000);
  t.same(ready.containers.filter((c) => c.pod === 'default/web').map((c) => c.state), ['running', 'running'], 'resolves once they run');
});

t.test('waitAgentReady waits for the node daemons the plan needs (udp backend)', async (t) => {
  const { dir, state } = await agentIn(t);
  const plan = planOf('udp');
  const udpPlan = JSON.stringify(plan);
  writeFileSync(join(dir, 'plan.json'), udpPlan);
  state.status.planVersion = planDigest(udpPlan);
  const others = daemonsServing(plan, ['overlay-udp/node1']);
  const daemon = { name: 'overlay-udp/node1', netns: 't.node.node1', log: join(dir, 'overlay-udp-node1.log'), restartCount: 2, lastExit: 'exited 1' };

  state.status.daemons = others;
  t.match(await waitAgentReady(dir, 300).catch((e: unknown) => e), { message: /1 node daemon\(s\) not ready:\n {2}daemon overlay-udp\/node1: not started by the agent/ });

  state.status.daemons = [...others, { ...daemon, state: 'waiting', ready: false }];
  t.match(await waitAgentReady(dir, 300).catch((e: unknown) => e), {
    message: /daemon overlay-udp\/node1: waiting, 2 restart\(s\), last exited 1; see .*overlay-udp-node1\.log/,
  });

  setTimeout(() => (state.status.daemons = [...others, { ...daemon, state: 'running', pid: 7, ready: true }]), 200);
  state.status.daemons = [...others, { ...daemon, state: 'running', pid: 7, ready: false }];
  const ready = await waitAgentReady(dir, 3000);
  t.same(ready.daemons.find((d) => d.name === 'overlay-udp/node1')?.ready, true, 'resolves once the daemon serves');
});

t.test('waitAgentReady stops at once when the agent process is gone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-dead-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'agent.log'), 'line 1\ncannot start: plan.json: not valid JSON\n');
  // A pid that cannot exist (above pid_max). The error is the dead agent's, not the timeout's: it did not wait for it.
  const err = await waitAgentReady(dir, 10_000, { pid: 2 ** 30 }).catch((e: unknown) => e);
  t.match(err, { message: /the agent \(pid 1073741824\) exited before it was ready: .*\n {2}last lines of .*agent\.log:\n {4}line 1\n {4}cannot start: plan\.json: not valid JSON/s });
  t.notMatch(err, { message: /not ready after/ });
});

/**
 * An agent that counts its changes, on a socket in a new directory (with
 * `plan` as its plan.json): `status` gives its status at a generation, and
 * each `GET /status?after=` is recorded and `held` resolves when one waits.
 */
async function countingAgent(t: Test, status: (generation: number) => AgentStatus, plan?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ctl-'));
  if (plan !== undefined) writeFileSync(join(dir, 'plan.json'), plan);
  const changes = new ChangeCounter();
  const asked: string[] = [];
  let hold: () => void = () => undefined;
  const server = createControlServer({
    status: () => status(changes.value),
    changes: (after, waitMs) => {
      asked.push(`after ${after}, up to ${waitMs} ms`);
      hold();
      return changes.after(after, waitMs);
    },
    kill: () => ({ killed: [] }),
    node: () => ({ name: 'node1', ready: true }),
    reload: () => ({ planVersion: 'v', started: [], stopped: [], unchanged: 0 }),
  });
  await listenControl(server, join(dir, 'agent.sock'));
  t.teardown(() => {
    changes.releaseAll();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** Resolves when the next `GET /status?after=` waits in the agent. */
  const held = () => new Promise<void>((resolve) => (hold = resolve));
  return { dir, changes, asked, held };
}

t.test('waitAgentReady asks again at each change of an agent that counts them, not at each poll', async (t) => {
  let containers = withWeb(container('http', 'running'), container('dns', 'waiting'));
  const agent = await countingAgent(
    t,
    (generation) => ({ pid: 4242, startedAt: '2026-01-01T00:00:00.000Z', generation, planVersion: planDigest(planText), containers, daemons: daemonsServing(JSON.parse(planText) as Plan) }),
    planText,
  );
  const heldNow = agent.held();
  const ready = waitAgentReady(agent.dir, 60_000);
  // The client's second question waits in the agent; the container comes up, which is a change.
  await heldNow;
  containers = withWeb(container('http', 'running'), container('dns', 'running'));
  agent.changes.bump();
  const status = await ready;
  t.equal(status.generation, 1, 'answered with the change');
  t.same(agent.asked, ['after 0, up to 250 ms'], 'one question waited for the change; the first was answered at once');
});

t.test('GET /status?after= waits for the next change; without after, or with a bad one, it answers at once', async (t) => {
  const agent = await countingAgent(t, (generation) => ({ pid: 1, startedAt: '', generation, planVersion: 'v', containers: [], daemons: [] }));
  const sock = join(agent.dir, 'agent.sock');
  t.match(await raw(sock, 'GET', '/status'), { status: 200, body: { generation: 0 } });
  t.match(await raw(sock, 'GET', '/status?after=x&wait=60000'), { status: 200, body: { generation: 0 } }, 'an after that is no number is no wait');
  const order: string[] = [];
  const heldNow = agent.held();
  const waited = raw(sock, 'GET', '/status?after=0&wait=60000').then((r) => order.push(`answered with ${(r.body as { generation?: number }).generation}`));
  await heldNow;
  order.push('changed');
  agent.changes.bump();
  await waited;
  t.same(order, ['changed', 'answered with 1']);
  t.match(await raw(sock, 'GET', '/status?after=0&wait=1'), { status: 200, body: { generation: 1 } }, 'already above: at once');
  t.match(await raw(sock, 'GET', '/status?after=1&wait=1'), { status: 200, body: { generation: 1 } }, 'no change: answered at the deadline, unchanged');
});
