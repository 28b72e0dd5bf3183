/**
 * The outside-in paths under load, in one run of the default lab: `wrk`
 * from the external client through the cloud load balancer to a NodePort
 * and a pod, and through the load balancer to ingress-nginx and an endpoint
 * pod (and, with service-upstream, the ClusterIP), next to the same load
 * from a pod straight to a pod IP. A Deployment behind the ingress scaled
 * down and up under a request stream. Then a failover: a steady stream of requests (a new connection each, 50/s)
 * through a load-balancer IP while a node goes down and comes back; the
 * requests lost, how long after the failure the last one was sent, and
 * when the load balancer took the node out and back in (its own log).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDir, readPlan } from '../apply/state.js';
import { run } from '../kernel/exec.js';
import { netnsPath } from '../kernel/netns.js';
import { INGRESS_NGINX } from '../spec/ingress.js';
import { PolicyEngine } from '../components/network-policy/engine.js';
import { runToEnd } from './measure.js';
import type { StreamResult } from './request-stream.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const STREAM = fileURLToPath(new URL('./request-stream.js', import.meta.url));
const LAB = 'bench-oi';
const CONNECTIONS = 50;

export interface LoadRow {
  path: string;
  rps: number;
  avgLatencyMs: number;
  errors: number;
}

export interface FailoverResult {
  service: string;
  node: string;
  sent: number;
  lost: number;
  /** From node-down to the last lost request being sent. */
  lossWindowMs: number;
  /** From node-down to the load balancer's "unhealthy" log line. */
  detectMs: number;
  /** From node-up to the load balancer sending to the node again. */
  recoverMs: number;
}

export interface ScaleResult {
  deployment: string;
  from: number;
  to: number;
  sent: number;
  lost: number;
  /** `scale` down: endpoints out, kube-proxy and both ingress controllers following, then the pods removed. */
  downMs: number;
  /** `scale` back up, until the new pods are ready and in the endpoints. */
  upMs: number;
}

function parseWrk(text: string): Omit<LoadRow, 'path'> {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const lat = /Latency\s+([\d.]+)(us|ms|s)\b/.exec(text);
  const scale = { us: 0.001, ms: 1, s: 1000 } as const;
  const avgLatencyMs = lat ? Number(lat[1]) * scale[lat[2] as keyof typeof scale] : NaN;
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const errors = (errs ? errs.slice(1).reduce((s, x) => s + Number(x), 0) : 0) + non2xx;
  return { rps, avgLatencyMs, errors };
}

async function wrk(netns: string, url: string, seconds: number, headers: string[] = []): Promise<Omit<LoadRow, 'path'>> {
  const argv = ['nsenter', `--net=${netnsPath(netns)}`, '--', 'wrk', '-t', '2', '-c', String(CONNECTIONS), '-d', `${seconds}s`, ...headers.flatMap((h) => ['-H', h]), url];
  const r = await run(argv, { context: `wrk ${url}` });
  const row = parseWrk(r.stdout);
  if (Number.isNaN(row.rps)) throw new Error(`wrk ${url} printed no rate:\n${r.stdout}${r.stderr}`);
  return row;
}

const stampOf = (line: string) => Date.parse(line.slice(0, 24));

/** The first load balancer log line after `since` (ms since epoch) that matches. */
function logAfter(runDir: string, since: number, re: RegExp): number | undefined {
  const log = readFileSync(join(runDir, 'cloud-load-balancer.log'), 'utf8').split('\n');
  const line = log.find((l) => re.test(l) && stampOf(l) >= since);
  return line ? stampOf(line) : undefined;
}

async function failover(clientNetns: string, ip: string, service: string, node: string, runDir: string): Promise<FailoverResult> {
  const child = spawn('nsenter', [`--net=${netnsPath(clientNetns)}`, '--', process.execPath, STREAM, `http://${ip}/`, '12000', '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const started = Date.now();
  await new Promise((r) => setTimeout(r, 3000));
  const downAt = Date.now();
  await runToEnd([process.execPath, CLI, 'fault', '--name', LAB, 'node-down', node]);
  await new Promise((r) => setTimeout(r, 5000));
  const upAt = Date.now();
  await runToEnd([process.execPath, CLI, 'fault', '--name', LAB, 'node-up', node]);
  await done;
  const r = JSON.parse(out) as StreamResult;
  const downOffset = downAt - started;
  const lost = r.failures.filter((f) => f.atMs >= downOffset - 50);
  const detect = logAfter(runDir, downAt, new RegExp(`node ${node} unhealthy`));
  const back = logAfter(runDir, upAt, new RegExp(`forwarding .*${service.replace('/', '\\/')} -> [^;]*${node}`));
  return {
    service,
    node,
    sent: r.sent,
    lost: lost.length,
    lossWindowMs: lost.length ? lost.at(-1)!.atMs - downOffset : 0,
    detectMs: detect ? detect - downAt : NaN,
    recoverMs: back ? back - upAt : NaN,
  };
}

/** A stream through the ingress while a Deployment behind it is scaled down and back up. */
async function scaleUnderStream(clientNetns: string, ingressIP: string, host: string, deployment: string, from: number, to: number): Promise<ScaleResult> {
  const child = spawn('nsenter', [`--net=${netnsPath(clientNetns)}`, '--', process.execPath, STREAM, `http://${ingressIP}/`, '10000', '20', '2000', host], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise((r) => setTimeout(r, 2000));
  let t0 = performance.now();
  await runToEnd([process.execPath, CLI, 'scale', '--name', LAB, `deploy/${deployment}`, '--replicas', String(to)]);
  const downMs = performance.now() - t0;
  t0 = performance.now();
  await runToEnd([process.execPath, CLI, 'scale', '--name', LAB, `deploy/${deployment}`, '--replicas', String(from)]);
  const upMs = performance.now() - t0;
  await done;
  const r = JSON.parse(out) as StreamResult;
  return { deployment, from, to, sent: r.sent, lost: r.failures.length, downMs, upMs };
}

/** The lab file with `nginx.ingress.kubernetes.io/service-upstream: "true"` on the Ingress named `ingress`. */
function withServiceUpstream(text: string, ingress: string): string {
  const head = `kind: Ingress\nmetadata:\n  name: ${ingress}\n`;
  if (!text.includes(head)) throw new Error(`no Ingress ${ingress} written as '${head}' in the lab file`);
  return text.replace(head, `${head}  annotations: {nginx.ingress.kubernetes.io/service-upstream: "true"}\n`);
}

export async function measureOutsideIn(labFile: string, seconds: number): Promise<{ load: LoadRow[]; failover: FailoverResult; scale: ScaleResult }> {
  await runToEnd([process.execPath, CLI, 'up', '-f', labFile, '--name', LAB]);
  try {
    const plan = readPlan(LAB);
    if (!plan) throw new Error(`lab ${LAB} has no plan after up`);
    const client = plan.internet.clients[0]!;
    const lbService = plan.services.find((s) => s.type === 'LoadBalancer' && s.namespace !== INGRESS_NGINX.namespace && s.loadBalancerIP)!;
    const ingressIP = plan.services.find((s) => s.namespace === INGRESS_NGINX.namespace && s.name === INGRESS_NGINX.service)!.loadBalancerIP!;
    const host = plan.spec.ingresses.flatMap((i) => i.rules).find((r) => r.host && !r.host.startsWith('*.') && !plan.spec.ingresses.some((i) => i.tls.some((t) => t.hosts.includes(r.host!))))?.host;
    if (!host) throw new Error(`${labFile} has no Ingress host without TLS to load`);
    const backend = plan.pods.find((p) => p.labels.app === lbService.selector?.app)!;
    const port = backend.containers[0]!.ports[0]!.containerPort;
    // A client on another node that the backend's policies admit (the default lab's shop admits its own pods).
    const engine = PolicyEngine.fromPlan(plan);
    const from = plan.pods.find(
      (p) => p.node !== backend.node && !p.hostNetwork && !p.containers.some((c) => c.program) && engine.decide({ kind: 'pod', pod: p }, { kind: 'pod', pod: backend }, port, 'TCP').allowed,
    )!;
    const load: LoadRow[] = [
      { path: `pod ${from.key} -> pod ${backend.key} (${backend.ip}:${port}), no load balancer`, ...(await wrk(from.netns, `http://${backend.ip}:${port}/`, seconds)) },
      { path: `external -> LB ${lbService.loadBalancerIP} -> NodePort -> ${lbService.key} pods`, ...(await wrk(client.netns, `http://${lbService.loadBalancerIP}/`, seconds)) },
      { path: `external -> LB ${ingressIP} -> ingress-nginx (${host}) -> endpoint pod (default)`, ...(await wrk(client.netns, `http://${ingressIP}/`, seconds, [`Host: ${host}`])) },
    ];
    const ingressName = plan.spec.ingresses.find((i) => i.rules.some((r) => r.host === host) && !i.annotations?.canary)!.name;
    const scale = await scaleUnderStream(client.netns, ingressIP, host, 'web', 3, 1);
    // The same load with service-upstream: nginx to the ClusterIP, kube-proxy in the controller's node picks the pod.
    const tmp = mkdtempSync(join(tmpdir(), 'kube-netlab-bench-'));
    try {
      const file = join(tmp, 'service-upstream.yaml');
      writeFileSync(file, withServiceUpstream(readFileSync(labFile, 'utf8'), ingressName));
      await runToEnd([process.execPath, CLI, 'apply', '-f', file, '--name', LAB]);
      load.push({ path: `external -> LB ${ingressIP} -> ingress-nginx (${host}, service-upstream) -> ClusterIP -> kube-proxy -> pod`, ...(await wrk(client.netns, `http://${ingressIP}/`, seconds, [`Host: ${host}`])) });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    // A node running a backend of the Local service, so the load balancer must take it out.
    const victim = backend.node;
    return { load, scale, failover: await failover(client.netns, lbService.loadBalancerIP!, lbService.key, victim, labDir(LAB)) };
  } finally {
    await runToEnd([process.execPath, CLI, 'down', '--name', LAB]).catch(() => {});
  }
}
