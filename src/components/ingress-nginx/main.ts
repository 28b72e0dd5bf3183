/**
 * One ingress-nginx controller pod's container, a daemon in the pod's
 * namespace:
 *
 *   node dist/components/ingress-nginx/main.js <runDir> --name <daemon> --pod <namespace>/<pod>
 *
 * Runs on the daemon runtime (runtime/daemon.ts). It renders nginx.conf
 * from its config (the served Ingresses, their Secrets and Services,
 * rendered by the component) and the endpoints the agent publishes
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
import { get } from 'node:http';
import { join } from 'node:path';
import { log } from '../../runtime/log.js';
import { runDaemon, type DaemonContext } from '../../runtime/daemon.js';
import { run } from '../../kernel/exec.js';
import { isAlive, killAll, processesInNamespaces } from '../../kernel/procs.js';
import { INGRESS_NGINX } from '../../spec/ingress.js';
import { CertStore, INGRESS_DIR } from './certs.js';
import { certificatesFor, controllerConf, type IngressControllerConfig } from './controller.js';
import { INGRESS_UPSTREAMS_FILE, type UpstreamData } from './upstreams.js';
import { shortHash } from '../../model/names.js';

const NGINX = 'nginx';

let runDir = '';
let pod = '';
let dir = '';
let confFile = '';
let nginx: ChildProcess | undefined;
let applied = '';
let served: UpstreamData | undefined;
let stopping = false;

/** The published endpoints; none yet (the agent writes them at start) leaves every upstream without servers. */
function readUpstreams(): UpstreamData | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, INGRESS_UPSTREAMS_FILE), 'utf8')) as UpstreamData;
  } catch {
    return undefined;
  }
}

/** The configuration, with its generation (a digest of everything else in it) answered on the health port. */
async function render(config: IngressControllerConfig, data: UpstreamData | undefined): Promise<{ text: string; generation: string }> {
  const certs = await certificatesFor(config, new CertStore(runDir, config.lab));
  const generation = shortHash(controllerConf(config, data, dir, certs), 12);
  return { text: controllerConf(config, data, dir, certs, generation), generation };
}

/**
 * Writes the configuration where nginx reads it. For a reload, `nginx -t`
 * accepts it under another name first, so a bad one never replaces what
 * runs; the first start needs no separate test, as nginx refuses a bad
 * configuration itself (and says why in this daemon's log).
 */
async function install(text: string, tested: boolean): Promise<void> {
  const next = `${confFile}.next`;
  writeFileSync(next, text);
  if (tested) await run([NGINX, '-t', '-q', '-c', next, '-p', dir], { context: `check the nginx configuration of ${pod}` });
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
 * the ports, and so do its workers: they outlive a master killed with
 * SIGKILL. Every nginx process in this pod's network namespace (the
 * controller's own; no other program of the lab runs nginx here) is stopped
 * before a new one starts.
 */
async function stopLeftover(): Promise<void> {
  const left = processesInNamespaces(['/proc/self/ns/net']).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === 'nginx';
    } catch {
      return false; // Exited while we looked.
    }
  });
  if (left.length === 0) return;
  log(`ingress controller ${pod}: stopping nginx processes a previous controller left: ${left.join(', ')}`);
  await killAll(left, 0);
  // The listening sockets close with the last process holding them; wait for that.
  for (let i = 0; i < 100 && left.some(isAlive); i++) await new Promise((r) => setTimeout(r, 20));
}

async function start(ctx: DaemonContext, config: IngressControllerConfig): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await stopLeftover();
  const upstreams = readUpstreams();
  const { text, generation } = await render(config, upstreams);
  await install(text, false);
  applied = text;
  nginx = spawn(NGINX, ['-c', confFile, '-p', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  nginx.once('exit', (code, signal) => {
    if (stopping) return;
    ctx.fatal(new Error(`nginx exited (${signal ?? `code ${code}`}); see ${join(dir, 'error.log')}`));
  });
  await awaitGeneration(generation);
  served = upstreams;
  writeState(ctx, config);
  log(`ingress controller ${pod}: nginx ${nginx.pid} serving ${countServers(text)} server(s)`);
}

function countServers(text: string): number {
  return text.split('\n').filter((l) => l.trim() === 'server {').length;
}

function writeState(ctx: DaemonContext, config: IngressControllerConfig): void {
  ctx.writeState({ nginxPid: nginx?.pid, pod, lab: config.lab, conf: confFile, upstreams: served?.version, reloadedAt: new Date().toISOString() });
}

/** A new config or new endpoints: rendered again, and nginx reloaded gracefully when the text changed. */
async function reload(ctx: DaemonContext, config: IngressControllerConfig): Promise<void> {
  const upstreams = readUpstreams();
  const { text, generation } = await render(config, upstreams);
  if (text !== applied) {
    await install(text, true);
    applied = text;
    nginx?.kill('SIGHUP');
    if (!(await awaitGeneration(generation))) log(`ingress controller ${pod}: nginx still answers with the previous configuration 5 s after the reload; see ${join(dir, 'error.log')}`);
    log(`ingress controller ${pod}: configuration reloaded (${countServers(text)} server(s), endpoints ${upstreams?.version ?? 'none'})`);
  }
  served = upstreams;
  writeState(ctx, config);
}

function parseConfig(text: string, path: string): IngressControllerConfig {
  const config = JSON.parse(text) as IngressControllerConfig;
  if (typeof config?.lab !== 'string' || !Array.isArray(config.ingresses) || !Array.isArray(config.services) || !Array.isArray(config.tlsSecrets)) {
    throw new Error(`${path} is not an ingress controller config (lab, ingresses, tlsSecrets, services)`);
  }
  return config;
}

runDaemon<IngressControllerConfig>({
  program: 'components/ingress-nginx/main.js',
  flags: { pod: 'NAMESPACE/POD' },
  // The endpoints change with readiness, apart from the config: a new version is rendered like a new config.
  alsoWatch: [INGRESS_UPSTREAMS_FILE],
  parse: parseConfig,
  create(ctx) {
    runDir = ctx.runDir;
    pod = ctx.flags.get('pod') ?? '';
    if (!/^[a-z0-9-]+\/[a-z0-9.-]+$/.test(pod)) throw new Error(`--pod must be <namespace>/<pod>, not '${pod}'`);
    dir = join(runDir, INGRESS_DIR, pod.replace('/', '-'));
    confFile = join(dir, 'nginx.conf');
    return {
      start: (config) => start(ctx, config),
      reload: (config) => reload(ctx, config),
      async stop() {
        stopping = true;
        if (!nginx || nginx.exitCode !== null) return;
        const exited = new Promise((r) => nginx!.once('exit', r));
        nginx.kill('SIGQUIT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 1500))]);
        nginx.kill('SIGKILL');
      },
    };
  },
});
