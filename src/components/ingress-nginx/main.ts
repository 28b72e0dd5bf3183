/**
 * One ingress-nginx controller pod's container, a daemon in the pod's
 * namespace:
 *
 *   node dist/components/ingress-nginx/main.js <runDir> --name <daemon> --pod <namespace>/<pod>
 *
 * It renders nginx.conf from the plan and the endpoints the agent publishes
 * (ingress-upstreams.json), starts nginx (the master runs in the foreground
 * as this process's child) and, whenever either changes (`apply`, `scale`,
 * a readiness change), renders again: a changed configuration is checked
 * with `nginx -t` and loaded with SIGHUP, nginx's graceful reload (new
 * workers take new connections, old ones finish theirs), so no request is
 * lost. The state file says which endpoints nginx serves, written once the
 * health port answers with the new configuration's generation. SIGTERM: nginx
 * stops gracefully (SIGQUIT), then this process exits 0. nginx exiting on
 * its own ends this process with 1, and the agent restarts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { watch } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { log } from '../../runtime/log.js';
import { PLAN_FILE } from '../../runtime/run-dir.js';
import { run } from '../../kernel/exec.js';
import { daemonStateFile } from '../../model/daemons.js';
import { INGRESS_NGINX } from '../../spec/ingress.js';
import type { Plan } from '../../model/types.js';
import { fileIdentity, writeAtomic } from '../../util/files.js';
import { CertStore, INGRESS_DIR } from './certs.js';
import { certificatesFor, controllerConf } from './controller.js';
import { INGRESS_UPSTREAMS_FILE, type UpstreamData } from './upstreams.js';
import { shortHash } from '../../model/names.js';

const POLL_MS = 500;
const NGINX = 'nginx';

function parseArgs(argv: string[]): { runDir: string; name: string; pod: string } {
  const [runDir, ...rest] = argv;
  const opt = (flag: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const name = opt('--name');
  const pod = opt('--pod');
  if (!runDir || !name || !pod) {
    process.stderr.write('usage: node dist/components/ingress-nginx/main.js <runDir> --name <daemon> --pod <namespace>/<pod>\n');
    process.exit(2);
  }
  return { runDir, name, pod };
}

const { runDir, name, pod } = parseArgs(process.argv.slice(2));
const dir = join(runDir, INGRESS_DIR, pod.replace('/', '-'));
const confFile = join(dir, 'nginx.conf');
let nginx: ChildProcess | undefined;
let planId = '';
let dataId = '';
let applied = '';
let served: UpstreamData | undefined;
let busy = false;
let stopping = false;

function readPlan(): { plan: Plan; id: string } {
  const file = join(runDir, PLAN_FILE);
  return { plan: JSON.parse(readFileSync(file, 'utf8')) as Plan, id: fileIdentity(file) };
}

/** The published endpoints; none yet (the agent writes them at start) leaves every upstream without servers. */
function readUpstreams(): { data: UpstreamData | undefined; id: string } {
  const file = join(runDir, INGRESS_UPSTREAMS_FILE);
  try {
    return { data: JSON.parse(readFileSync(file, 'utf8')) as UpstreamData, id: fileIdentity(file) };
  } catch {
    return { data: undefined, id: '' };
  }
}

/** The configuration, with its generation (a digest of everything else in it) answered on the health port. */
async function render(plan: Plan, data: UpstreamData | undefined): Promise<{ text: string; generation: string }> {
  const certs = await certificatesFor(plan, new CertStore(runDir, plan.lab));
  const generation = shortHash(controllerConf(plan, data, dir, certs), 12);
  return { text: controllerConf(plan, data, dir, certs, generation), generation };
}

/** Writes the configuration where nginx reads it, after `nginx -t` accepted it under another name. */
async function install(text: string): Promise<void> {
  const next = `${confFile}.next`;
  writeFileSync(next, text);
  await run([NGINX, '-t', '-q', '-c', next, '-p', dir], { context: `check the nginx configuration of ${pod}` });
  renameSync(next, confFile);
}

/** The generation nginx's workers answer on a new connection; undefined while nothing answers. */
function generationServed(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port: INGRESS_NGINX.healthPort, path: '/kube-netlab/generation', timeout: 500, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Waits (up to 5 s) until new connections reach workers running `generation`. */
async function awaitGeneration(generation: string): Promise<boolean> {
  for (let i = 0; i < 250; i++) {
    if ((await generationServed()) === generation) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/**
 * An nginx left by a controller process that was killed outright still holds
 * the ports: it is stopped before a new one starts.
 */
async function stopLeftover(): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim());
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nginx')) return;
  } catch {
    return;
  }
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // Its workers die with it, but may hold the sockets a moment longer.
  await new Promise((r) => setTimeout(r, 100));
}

async function start(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await stopLeftover();
  const { plan, id } = readPlan();
  const upstreams = readUpstreams();
  const { text, generation } = await render(plan, upstreams.data);
  await install(text);
  applied = text;
  planId = id;
  dataId = upstreams.id;
  nginx = spawn(NGINX, ['-c', confFile, '-p', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  nginx.once('exit', (code, signal) => {
    if (stopping) process.exit(0);
    log(`nginx exited (${signal ?? `code ${code}`}); see ${join(dir, 'error.log')}`);
    process.exit(1);
  });
  await awaitGeneration(generation);
  served = upstreams.data;
  writeState(plan);
  log(`ingress controller ${pod}: nginx ${nginx.pid} serving ${countServers(text)} server(s)`);
}

function countServers(text: string): number {
  return text.split('\n').filter((l) => l.trim() === 'server {').length;
}

function writeState(plan: Plan): void {
  const state = { pid: process.pid, nginxPid: nginx?.pid, pod, lab: plan.lab, conf: confFile, upstreams: served?.version, reloadedAt: new Date().toISOString() };
  writeAtomic(join(runDir, daemonStateFile({ name })), `${JSON.stringify(state)}\n`);
}

let again = false;

async function poll(): Promise<void> {
  if (stopping) return;
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  again = false;
  try {
    const { plan, id } = readPlan();
    const upstreams = readUpstreams();
    if (id === planId && upstreams.id === dataId && planId !== '') return;
    planId = id;
    dataId = upstreams.id;
    const { text, generation } = await render(plan, upstreams.data);
    if (text !== applied) {
      await install(text);
      applied = text;
      nginx?.kill('SIGHUP');
      if (!(await awaitGeneration(generation))) log(`ingress controller ${pod}: nginx still answers with the previous configuration 5 s after the reload; see ${join(dir, 'error.log')}`);
      log(`ingress controller ${pod}: configuration reloaded (${countServers(text)} server(s), endpoints ${upstreams.data?.version ?? 'none'})`);
    }
    served = upstreams.data;
    writeState(plan);
  } catch (err) {
    // The running configuration stays; the next plan change tries again.
    log(`ingress controller ${pod}: ${(err as Error).message}`);
  } finally {
    busy = false;
    // A change seen while this one was being applied.
    if (again) void poll();
  }
}

// The agent sends SIGHUP after replacing the plan: look at it now rather than at the next poll.
process.on('SIGHUP', () => {
  planId = '';
  void poll();
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    stopping = true;
    if (!nginx || nginx.exitCode !== null) process.exit(0);
    nginx.kill('SIGQUIT');
    setTimeout(() => {
      nginx?.kill('SIGKILL');
      process.exit(0);
    }, 2000).unref();
  });
}

/** Plan and endpoints are replaced by rename: the directory is watched for their names, with the poll as a safety net. */
function watchRunDir(): void {
  try {
    const watcher = watch(runDir, (_event, file) => {
      if (file === PLAN_FILE || file === INGRESS_UPSTREAMS_FILE) void poll();
    });
    watcher.on('error', (err) => log(`ingress controller ${pod}: watch of ${runDir} failed (${err.message}); polling every ${POLL_MS} ms only`));
  } catch (err) {
    log(`ingress controller ${pod}: cannot watch ${runDir} (${(err as Error).message}); polling every ${POLL_MS} ms only`);
  }
}

start().then(
  () => {
    watchRunDir();
    setInterval(() => void poll(), POLL_MS);
  },
  (err: Error) => {
    log(`ingress controller ${pod} cannot start: ${err.message}`);
    process.exit(1);
  },
);
