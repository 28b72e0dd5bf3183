/**
 * The agent on real namespaces: it serves HTTP and UDP echo inside two pod
 * namespaces from one process, nothing in the root namespace; kill and
 * reload through the control socket; it leaves nothing behind.
 */
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsInode, withNetns, withNewUtsNamespace } from '../../dist/kernel/ffi.js';
import { posixSpawnDetached } from '../../dist/kernel/posix-spawn.js';
import { eventually } from '../helpers/eventually.js';
import { AgentError, agentKill, agentReload, agentStatus, waitAgentReady, type AgentStatus } from '../../dist/agent/client.js';
import { planLab } from '../../dist/model/plan.js';
import { labDaemons } from '../../dist/components/registry.js';
import type { Plan } from '../../dist/model/types.js';
import { labSpec } from '../helpers/spec.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

if (process.getuid?.() !== 0) {
  t.skip('the agent test needs root: it creates network namespaces and enters them', () => {});
} else {
  const tag = process.pid.toString(36);
  const nsA = `agt${tag}a`;
  const nsB = `agt${tag}b`;
  const ipA = '10.77.0.1';
  const ipB = '10.77.0.2';
  const work = mkdtempSync(join(tmpdir(), 'kube-netlab-agent-'));
  const runDir = join(work, 'run');
  const helpers: ChildProcess[] = [];
  let agent: ChildProcess | undefined;
  let agentExit: Promise<number | null> | undefined;

  // Tap's loader hooks must not leak into the processes we start.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;

  const run = (argv: string[], input?: string) => {
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, input, timeout: 20_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const must = (argv: string[]) => {
    const r = run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const inNs = (ns: string, argv: string[]) => run(['ip', 'netns', 'exec', ns, ...argv]);
  const curl = (ns: string, url: string, ...extra: string[]) => inNs(ns, ['curl', '-sS', '-m', '5', ...extra, url]);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  t.teardown(async () => {
    for (const h of helpers) h.kill('SIGKILL');
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGTERM');
      const done = await Promise.race([agentExit, sleep(3000).then(() => 'timeout')]);
      if (done === 'timeout') agent.kill('SIGKILL');
    }
    run(['ip', 'netns', 'del', nsA]);
    run(['ip', 'netns', 'del', nsB]);
    rmSync(work, { recursive: true, force: true });
  });

  // Two pods joined by a veth pair, so a client in one has an address of its own.
  must(['ip', 'netns', 'add', nsA]);
  must(['ip', 'netns', 'add', nsB]);
  must(['ip', '-n', nsA, 'link', 'set', 'lo', 'up']);
  must(['ip', '-n', nsB, 'link', 'set', 'lo', 'up']);
  must(['ip', '-n', nsA, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nsB]);
  must(['ip', '-n', nsA, 'addr', 'add', `${ipA}/24`, 'dev', 'eth0']);
  must(['ip', '-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', 'eth0']);
  must(['ip', '-n', nsA, 'link', 'set', 'eth0', 'up']);
  must(['ip', '-n', nsB, 'link', 'set', 'eth0', 'up']);

  type PodDef = { namespace: string; name: string; netns: string; node: string; ip: string; containers: Array<{ name: string; ports: Array<{ containerPort: number; protocol: 'TCP' | 'UDP' }> }> };
  const podDef = (p: PodDef) => ({ ...p, key: `${p.namespace}/${p.name}`, address: `${p.ip}/24` });
  const web: PodDef = {
    namespace: 'default', name: 'web', netns: nsA, node: 'node1', ip: ipA,
    containers: [
      { name: 'http', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
      { name: 'echo', ports: [{ containerPort: 9000, protocol: 'UDP' }] },
    ],
  };
  const client: PodDef = { namespace: 'other', name: 'client', netns: nsB, node: 'node2', ip: ipB, containers: [{ name: 'app', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] };
  const late: PodDef = { namespace: 'other', name: 'late', netns: nsB, node: 'node2', ip: ipB, containers: [{ name: 'app', ports: [{ containerPort: 8081, protocol: 'TCP' }] }] };
  const blocked: PodDef = { namespace: 'other', name: 'blocked', netns: nsB, node: 'node2', ip: ipB, containers: [{ name: 'app', ports: [{ containerPort: 7000, protocol: 'TCP' }] }] };
  // A whole plan, as `up` writes one, around these hand-made pods: no nodes and no services, and the
  // internet side's daemons every lab runs (its DNS resolver, the cloud load balancer) in the client's namespace.
  const base = planLab(labSpec({ name: 'agt', nodes: labSpec().nodes.slice(0, 1) }));
  const planOf = (pods: PodDef[]) => ({
    ...base,
    nodes: [],
    services: [],
    ingresses: [],
    internet: { ...base.internet, netns: nsB, servers: [], clients: [], resolver: { ip: ipB }, loadBalancer: { ...base.internet.loadBalancer, netns: nsB } },
    pods: pods.map((p) => ({ ...podDef(p), gateway: '10.77.0.254', hostVeth: '', mtu: 1500, labels: { app: p.name }, dnsPolicy: 'ClusterFirst' })),
  });
  const writePlan = (pods: PodDef[]) => writeFileSync(join(runDir, 'plan.json'), JSON.stringify(planOf(pods), null, 2));

  const udpClient = `
    const [host, port, payload] = process.argv.slice(1);
    const s = require('node:dgram').createSocket('udp4');
    const timer = setTimeout(() => { console.log('NO ECHO'); process.exit(1); }, 3000);
    s.on('message', (m, r) => { process.stdout.write(m.toString() + ' from ' + r.address + ':' + r.port); clearTimeout(timer); s.close(); });
    s.send(Buffer.from(payload), Number(port), host);`;

  // Stays connected with keep-alive after one answer, and says when the server drops it.
  const heldClient = `
    const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
    s.on('connect', () => s.write('GET /hostname HTTP/1.1\\r\\nHost: x\\r\\nConnection: keep-alive\\r\\n\\r\\n'));
    s.once('data', () => console.log('answered'));
    s.on('close', () => { console.log('closed'); process.exit(0); });
    setTimeout(() => { console.log('still open'); process.exit(1); }, 8000);`;

  const lines = (child: ChildProcess) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    return {
      text: () => out,
      waitFor: async (needle: string, ms = 5000) => {
        if (!(await eventually(() => out.includes(needle), { timeout: ms, every: 20 }))) throw new Error(`no '${needle}' within ${ms} ms; got: ${out}`);
      },
    };
  };

  const listeners = (ns: string | undefined, flags: string) => (ns ? inNs(ns, ['ss', flags]) : run(['ss', flags])).stdout;
  const status = async (pod: string, container: string) => {
    const s = await agentStatus(runDir);
    const c = s.containers.find((x) => x.pod === pod && x.container === container);
    if (!c) throw new Error(`${pod} ${container} not in status: ${JSON.stringify(s)}`);
    return c;
  };

  t.test('ffi: enter a namespace and always come back', async (t) => {
    const home = nsInode('/proc/thread-self/ns/net');
    t.equal(withNetns(`/run/netns/${nsA}`, () => nsInode('/proc/thread-self/ns/net')), nsInode(`/run/netns/${nsA}`), 'inside the pod namespace');
    t.equal(nsInode('/proc/thread-self/ns/net'), home, 'back home');
    t.throws(() => withNetns(`/run/netns/${nsA}`, () => { throw new Error('boom'); }), /boom/);
    t.equal(nsInode('/proc/thread-self/ns/net'), home, 'back home after a throw');
    t.throws(() => withNetns(`/run/netns/agt${tag}none`, () => 1), { code: 'ENOENT', message: /cannot enter network namespace \/run\/netns\/agt\w+none: open .*ENOENT.*the namespace is gone/ });
    t.throws(() => withNetns('/proc/self/ns/uts', () => 1), { code: 'EINVAL', message: /setns: EINVAL/ }, 'a UTS namespace is not a network namespace');
    t.equal(nsInode('/proc/thread-self/ns/net'), home);
  });

  t.test('ffi: a process born in a UTS namespace of its own, named; the thread and the host unchanged', async (t) => {
    const hostBefore = readFileSync('/proc/sys/kernel/hostname', 'utf8');
    const homeUts = nsInode('/proc/thread-self/ns/uts');
    const pid = withNewUtsNamespace('web-7d9f', () => posixSpawnDetached(['sleep', '30'], { PATH: process.env.PATH }));
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    });
    const uts = `/proc/${pid}/ns/uts`;
    t.not(nsInode(uts), homeUts, 'the child has its own UTS namespace');
    t.equal(run(['nsenter', `--uts=${uts}`, 'hostname']).stdout.trim(), 'web-7d9f', 'named before it started');
    t.equal(nsInode('/proc/thread-self/ns/uts'), homeUts, 'the thread is back in its own');
    t.throws(() => withNewUtsNamespace('bad name', () => 1), /a hostname is 1 to 64 letters/);
    t.throws(() => withNewUtsNamespace('ok', () => { throw new Error('boom'); }), /boom/);
    t.equal(nsInode('/proc/thread-self/ns/uts'), homeUts, 'back home after a throw');
    t.equal(readFileSync('/proc/sys/kernel/hostname', 'utf8'), hostBefore, 'the host keeps its hostname');
  });

  t.test('the agent builds and starts', async (t) => {
    // The agent runs as built JS, as `up` starts it; only its own module graph and the daemons every lab runs are compiled.
    const out = join(work, 'dist');
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '--outDir', out, '--rootDir', join(ROOT, 'src'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node', ...['agent/main.ts', 'components/cluster-dns/main.ts', 'components/load-balancer/main.ts'].map((m) => join(ROOT, 'src', m))],
      { cwd: ROOT, encoding: 'utf8', env },
    );
    t.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);

    spawnSync('mkdir', ['-p', runDir]);
    // As `up` starts it: before plan.json, with the list of the coming plan's daemons.
    const daemons = labDaemons(planOf([web, client]) as Plan);
    writeFileSync(join(runDir, 'daemons.prestart.json'), JSON.stringify({ daemons }));
    const log = openSync(join(runDir, 'agent.log'), 'a');
    agent = spawn(process.execPath, [join(out, 'agent/main.js'), runDir], { stdio: ['ignore', log, log], env });
    closeSync(log);
    agentExit = new Promise((resolve) => agent!.once('exit', (code) => resolve(code)));
    const text = (file: string) => (existsSync(join(runDir, file)) ? readFileSync(join(runDir, file), 'utf8') : '');
    t.ok(await eventually(() => text('agent.log').includes('agent: waiting for'), { timeout: 15_000, what: 'the agent to wait for plan.json' }), 'the agent waits for plan.json');
    const early = new Map(daemons.map((d) => [d.name, Number(new RegExp(`daemon ${d.name} started \\(pid (\\d+)\\)`).exec(text('agent.log'))?.[1])]));
    t.ok([...early.values()].every((pid) => pid > 0), `the plan's daemons were started meanwhile: ${[...early.keys()].join(', ')}`);
    for (const d of daemons) {
      const file = `${d.name.replace(/\//g, '-')}.log`;
      t.ok(await eventually(() => / waiting for /.test(text(file)), { timeout: 15_000, what: `${d.name} to wait for its config` }), `${d.name} waits for its config`);
    }
    t.notOk(existsSync(join(runDir, 'agent.json')), 'nothing serves before the plan');
    writeFileSync(join(runDir, 'plan.json.tmp'), JSON.stringify(planOf([web, client]), null, 2));
    renameSync(join(runDir, 'plan.json.tmp'), join(runDir, 'plan.json'));
    const ready = await waitAgentReady(runDir, 15_000, { pid: agent.pid });
    t.same(
      new Map(ready.daemons.map((d) => [d.name, d.pid])),
      early,
      'the plan kept the daemons started before it (the same processes)',
    );
    t.same(ready.daemons.map((d) => d.restartCount), daemons.map(() => 0), 'none restarted');
    t.equal(ready.pid, agent.pid);
    t.same(ready.containers.map((c) => `${c.pod}/${c.container} ${c.state} ${c.restartCount}`), ['default/web/http running 0', 'default/web/echo running 0', 'other/client/app running 0']);
    t.match(JSON.parse(readFileSync(join(runDir, 'agent.json'), 'utf8')), { pid: agent.pid, socket: join(runDir, 'agent.sock'), planVersion: ready.planVersion }, 'the state file names the running agent and its plan');
    t.match(readFileSync(join(runDir, 'agent.log'), 'utf8'), /^\d{4}-\d\d-\d\dT[\d:.]+Z agent \d+ starting for /m);
  });

  t.test('HTTP inside the pod namespace answers with the pod and the client it saw', async (t) => {
    const local = curl(nsA, 'http://127.0.0.1:8080/');
    t.equal(local.code, 0, local.stderr);
    t.match(JSON.parse(local.stdout), { pod: 'web', namespace: 'default', container: 'http', node: 'node1', podIP: ipA, clientIP: '127.0.0.1', serverPort: 8080 });

    const remote = curl(nsB, `http://${ipA}:8080/`);
    t.equal(remote.code, 0, remote.stderr);
    const body = JSON.parse(remote.stdout);
    t.equal(body.clientIP, ipB, 'the peer address is the other pod, not NATed');
    t.ok(body.clientPort > 1023, 'the client port the socket saw');
    t.equal(curl(nsB, `http://${ipA}:8080/clientip`).stdout, `${ipB}\n`);
    t.equal(curl(nsA, 'http://127.0.0.1:8080/hostname').stdout, 'web\n');
    t.equal(JSON.parse(curl(nsA, `http://${ipB}:8080/`).stdout).pod, 'client', 'the other pod answers as itself');

    t.equal(curl(nsB, `http://${ipA}:8080/bytes/65536`, '-o', '/dev/null', '-w', '%{size_download} %{http_code}').stdout, '65536 200');
    t.equal(curl(nsB, `http://${ipA}:8080/bytes/104857601`, '-o', '/dev/null', '-w', '%{http_code}').stdout, '400');
    const missing = curl(nsA, 'http://127.0.0.1:8080/nope', '-w', '\n%{http_code}');
    t.match(missing.stdout, /"error":"not found".*\n404$/s);
  });

  t.test('UDP ports echo every datagram to its sender', async (t) => {
    const r = inNs(nsB, [process.execPath, '-e', udpClient, ipA, '9000', 'hello over udp']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.equal(r.stdout, `hello over udp from ${ipA}:9000`);
  });

  t.test('nothing listens in the root namespace; the sockets are in the pods', async (t) => {
    const mark = `pid=${agent!.pid},`;
    t.equal(readlinkSync(`/proc/${agent!.pid}/ns/net`), readlinkSync('/proc/self/ns/net'), 'the agent itself stays in the root namespace');
    for (const flags of ['-ltnupH', '-ltnupHx']) {
      t.notOk(listeners(undefined, flags).split('\n').some((l) => l.includes(mark) && !l.includes('agent.sock')), `root: no ${flags} listener of the agent but its control socket`);
    }
    t.match(listeners(undefined, '-lxpH'), new RegExp(`${runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/agent\\.sock .*${mark}`), 'the control socket is the agent\'s');
    const inA = listeners(nsA, '-ltnupH');
    t.match(inA, new RegExp(`tcp +LISTEN .*0\\.0\\.0\\.0:8080 .*${mark}`));
    t.match(inA, new RegExp(`udp +UNCONN .*0\\.0\\.0\\.0:9000 .*${mark}`));
    t.match(listeners(nsB, '-ltnupH'), new RegExp(`0\\.0\\.0\\.0:8080 .*${mark}`));
    t.notMatch(listeners(nsB, '-ltnupH'), /:9000 /, 'only the pods that declare a port get it');
  });

  t.test('kill closes the container and its connections; it comes back in the same namespace', async (t) => {
    const inodeBefore = statSync(`/run/netns/${nsA}`).ino;
    const held = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e', heldClient, ipA, '8080'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    helpers.push(held);
    const heldOut = lines(held);
    await heldOut.waitFor('answered');

    const killed = await agentKill(runDir, 'default/web', 'http');
    t.same(killed, { killed: [{ pod: 'default/web', container: 'http', restartInMs: 1000 }] });
    await heldOut.waitFor('closed', 3000);
    t.pass('the open keep-alive connection was dropped');
    t.equal(curl(nsA, 'http://127.0.0.1:8080/').code, 7, 'connection refused while it is down');
    t.equal((await status('default/web', 'http')).state, 'terminated');
    t.equal((await status('default/web', 'echo')).state, 'running', 'the other container of the pod is untouched');
    t.equal(inNs(nsB, [process.execPath, '-e', udpClient, ipA, '9000', 'still here']).code, 0);

    // Restarted after its back-off (1 s, as the kill said): waited for, never timed.
    const back = await eventually(async () => {
      const s = await status('default/web', 'http');
      return s.state === 'running' && s;
    }, { every: 100, what: 'default/web http running again' });
    t.match(back, { state: 'running', restartCount: 1, netns: nsA });
    t.equal(JSON.parse(curl(nsB, `http://${ipA}:8080/`).stdout).container, 'http');
    t.equal(statSync(`/run/netns/${nsA}`).ino, inodeBefore, 'the pod namespace is the same one');
    t.match(listeners(nsA, '-ltnpH'), new RegExp(`0\\.0\\.0\\.0:8080 .*pid=${agent!.pid},`));

    await t.rejects(agentKill(runDir, 'default/nope'), { name: 'AgentError', status: 404, message: /no pod 'default\/nope'/ });
    await t.rejects(agentKill(runDir, 'default/web', 'nope'), { status: 404, message: /pod 'default\/web' has no container 'nope'; containers: http, echo/ });
  });

  t.test('reload starts new pods, stops removed ones, leaves the rest alone', async (t) => {
    const before = await agentStatus(runDir);
    const webBefore = before.containers.filter((c) => c.pod === 'default/web');

    // A port already taken inside the namespace, as by a process a user started there.
    const blocker = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e', "require('node:net').createServer().listen(7000, () => console.log('listening'))"], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    helpers.push(blocker);
    await lines(blocker).waitFor('listening');

    const ghost: PodDef = { namespace: 'default', name: 'ghost', netns: `agt${tag}gone`, node: 'node1', ip: '10.77.0.9', containers: [{ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP' }] }] };
    writePlan([web, late, blocked, ghost]);
    const reloaded = await agentReload(runDir);
    t.same(reloaded.started.sort(), ['default/ghost/app', 'other/blocked/app', 'other/late/app']);
    t.same(reloaded.stopped, ['other/client/app']);
    t.equal(reloaded.unchanged, 2);
    t.not(reloaded.planVersion, before.planVersion);

    const after = await agentStatus(runDir);
    t.same(after.containers.filter((c) => c.pod === 'default/web'), webBefore, 'unchanged containers keep their start time and restart count');
    t.equal(curl(nsB, 'http://127.0.0.1:8080/').code, 7, 'the removed pod no longer answers');
    t.equal(JSON.parse(curl(nsA, `http://${ipB}:8081/`).stdout).pod, 'late', 'the new pod answers');

    const err = (await waitAgentReady(runDir, 1500).catch((e: unknown) => e)) as AgentError;
    t.type(err, AgentError, 'not ready while containers wait');
    t.same(err.notRunning.map((c) => `${c.pod} ${c.state}`).sort(), ['default/ghost waiting', 'other/blocked waiting']);
    t.match(err.message, /other\/blocked app: waiting \(cannot listen on TCP port 7000 in network namespace \/run\/netns\/agt\w+b: bind: EADDRINUSE/);
    t.match(err.message, /default\/ghost app: waiting \(cannot listen on TCP port 80 in network namespace \/run\/netns\/agt\w+gone: open .*: ENOENT .*the namespace is gone/);

    blocker.kill('SIGKILL');
    writePlan([web, late, blocked]);
    const second = await agentReload(runDir);
    t.same(second, { planVersion: second.planVersion, started: [], stopped: ['default/ghost/app'], unchanged: 4 });
    const ready: AgentStatus = await waitAgentReady(runDir, 12_000);
    t.match(ready.containers.find((c) => c.pod === 'other/blocked'), { state: 'running', restartCount: 0 }, 'the waiting container started once the port was free');
    t.equal(JSON.parse(curl(nsA, `http://${ipB}:7000/`).stdout).pod, 'blocked');

    writeFileSync(join(runDir, 'plan.json'), '{"pods": [');
    await t.rejects(agentReload(runDir), { status: 400, message: /reload refused, the running containers are unchanged: .*plan\.json: not valid JSON/ });
    t.equal((await agentStatus(runDir)).containers.length, 4);
    // A half-written plan (pods, but none of the rest) is refused as a whole, naming what it lacks.
    const { nodes: _nodes, ...half } = planOf([web, late, blocked]);
    writeFileSync(join(runDir, 'plan.json'), JSON.stringify(half));
    await t.rejects(agentReload(runDir), { status: 400, message: /reload refused, the running containers are unchanged: .*plan\.json: top level: 'nodes' must be a list; rebuild the plan with `up`/ });
    t.equal((await agentStatus(runDir)).containers.length, 4);
    writePlan([web, late, blocked]);
  });

  t.test('a replaced plan.json is loaded without being asked, and SIGHUP reloads too', async (t) => {
    const before = await agentStatus(runDir);
    const text = JSON.stringify(planOf([web, late]), null, 2);
    // As `apply` writes it: a new file renamed over the old one.
    writeFileSync(join(runDir, 'plan.json.next'), text);
    renameSync(join(runDir, 'plan.json.next'), join(runDir, 'plan.json'));
    const loaded = await eventually(async () => {
      const s = await agentStatus(runDir);
      return s.planVersion !== before.planVersion && s;
    }, { timeout: 10_000, what: 'the agent to load the replaced plan.json' });
    t.ok(loaded, 'the agent loaded the new plan by itself');
    t.same(loaded!.containers.map((c) => c.pod).sort(), ['default/web', 'default/web', 'other/late'], 'the removed pod stopped');
    t.equal(curl(nsB, 'http://127.0.0.1:7000/').code, 7, 'the removed pod no longer answers');
    const result = await agentReload(runDir);
    t.same(result, { planVersion: loaded!.planVersion, started: [], stopped: ['other/blocked/app'], unchanged: 3 }, 'a reload asked for afterwards reports the load that happened');

    const lines = () => readFileSync(join(runDir, 'agent.log'), 'utf8').split('\n').filter((l) => l.includes(`plan ${loaded!.planVersion} loaded`)).length;
    const seen = lines();
    agent!.kill('SIGHUP');
    t.ok(await eventually(() => lines() > seen, { what: 'the agent to log the SIGHUP reload' }), 'SIGHUP loads the plan again');
    t.equal((await agentStatus(runDir)).pid, agent!.pid, 'and the agent keeps running');
  });

  t.test('SIGTERM closes everything and exits 0', async (t) => {
    agent!.kill('SIGTERM');
    t.equal(await agentExit, 0);
    t.notOk(existsSync(join(runDir, 'agent.sock')), 'control socket removed');
    t.notOk(existsSync(join(runDir, 'agent.json')), 'state file removed');
    t.equal(curl(nsA, 'http://127.0.0.1:8080/').code, 7);
    t.match(readFileSync(join(runDir, 'agent.log'), 'utf8'), /agent: SIGTERM, stopping\n$/);
  });
}
