/**
 * One ingress-nginx controller pod's container, a daemon in the pod's
 * namespace:
 *
 *   node dist/ingress/main.js <runDir> --name <daemon> --pod <namespace>/<pod>
 *
 * It renders nginx.conf from the plan, starts nginx (the master runs in the
 * foreground as this process's child) and, whenever `apply` replaces the
 * plan, renders again: a changed configuration is checked with `nginx -t`
 * and loaded with SIGHUP, nginx's graceful reload (new workers take new
 * connections, old ones finish theirs), so no request is lost. Once nginx
 * answers /healthz it writes its state file with its pid. SIGTERM: nginx
 * stops gracefully (SIGQUIT), then this process exits 0. nginx exiting on
 * its own ends this process with 1, and the agent restarts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { log } from '../agent/log.js';
import { PLAN_FILE } from '../agent/protocol.js';
import { run } from '../kernel/exec.js';
import { daemonStateFile } from '../model/daemons.js';
import { INGRESS_NGINX } from '../model/ingress.js';
import type { Plan } from '../model/types.js';
import { fileIdentity, writeAtomic } from '../util/files.js';
import { CertStore, INGRESS_DIR } from './certs.js';
import { certificatesFor, controllerConf } from './controller.js';

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
    process.stderr.write('usage: ingress/main.js <runDir> --name <daemon> --pod <namespace>/<pod>\n');
    process.exit(2);
  }
  return { runDir, name, pod };
}

const { runDir, name, pod } = parseArgs(process.argv.slice(2));
const dir = join(runDir, INGRESS_DIR, pod.replace('/', '-'));
const confFile = join(dir, 'nginx.conf');
let nginx: ChildProcess | undefined;
let planId = '';
let applied = '';
let busy = false;
let stopping = false;

function readPlan(): { plan: Plan; id: string } {
  const file = join(runDir, PLAN_FILE);
  return { plan: JSON.parse(readFileSync(file, 'utf8')) as Plan, id: fileIdentity(file) };
}

async function render(plan: Plan): Promise<string> {
  const certs = await certificatesFor(plan, new CertStore(runDir, plan.lab));
  return controllerConf(plan, dir, certs);
}

/** Writes the configuration where nginx reads it, after `nginx -t` accepted it under another name. */
async function install(text: string): Promise<void> {
  const next = `${confFile}.next`;
  writeFileSync(next, text);
  await run([NGINX, '-t', '-q', '-c', next, '-p', dir], { context: `check the nginx configuration of ${pod}` });
  renameSync(next, confFile);
}

function healthy(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port: INGRESS_NGINX.healthPort, path: '/healthz', timeout: 500, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
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
  const text = await render(plan);
  await install(text);
  applied = text;
  planId = id;
  nginx = spawn(NGINX, ['-c', confFile, '-p', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  nginx.once('exit', (code, signal) => {
    if (stopping) process.exit(0);
    log(`nginx exited (${signal ?? `code ${code}`}); see ${join(dir, 'error.log')}`);
    process.exit(1);
  });
  for (let i = 0; i < 100 && !(await healthy()); i++) await new Promise((r) => setTimeout(r, 50));
  writeState(plan);
  log(`ingress controller ${pod}: nginx ${nginx.pid} serving ${countServers(text)} server(s)`);
}

function countServers(text: string): number {
  return text.split('\n').filter((l) => l.trim() === 'server {').length;
}

function writeState(plan: Plan): void {
  writeAtomic(join(runDir, daemonStateFile({ name })), `${JSON.stringify({ pid: process.pid, nginxPid: nginx?.pid, pod, lab: plan.lab, conf: confFile, reloadedAt: new Date().toISOString() })}\n`);
}

async function poll(): Promise<void> {
  if (busy || stopping) return;
  busy = true;
  try {
    const { plan, id } = readPlan();
    if (id === planId && planId !== '') return;
    planId = id;
    const text = await render(plan);
    if (text === applied) return;
    await install(text);
    applied = text;
    nginx?.kill('SIGHUP');
    writeState(plan);
    log(`ingress controller ${pod}: configuration reloaded (${countServers(text)} server(s))`);
  } catch (err) {
    // The running configuration stays; the next plan change tries again.
    log(`ingress controller ${pod}: ${(err as Error).message}`);
  } finally {
    busy = false;
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

start().then(
  () => setInterval(() => void poll(), POLL_MS),
  (err: Error) => {
    log(`ingress controller ${pod} cannot start: ${err.message}`);
    process.exit(1);
  },
);
