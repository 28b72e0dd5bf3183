/**
 * Data plane: pod-to-pod TCP throughput (iperf3) and round-trip latency
 * (average of 100 pings) for pods on one node and across nodes on every
 * backend, next to a bare veth pair between two namespaces, all measured in
 * one run on this machine.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../kernel/exec.js';
import { createNamespaces, deleteNamespaces, netnsPath, runBatch } from '../kernel/netns.js';
import type { BackendName } from '../spec/lab.js';
import { runToEnd } from './measure.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface PathSample {
  path: string;
  /** The median of `runs`. */
  mbps: number;
  rttMs: number;
  /** Every throughput run, in order, when there was more than one. */
  runs?: number[];
}

const inNs = (netns: string, argv: string[]) => ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv];

/** iperf3 from `client` to `server`, in Mbit/s received; the server lives until the measurement is done. */
async function throughput(serverNs: string, clientNs: string, ip: string, seconds: number): Promise<number> {
  const server = spawn('nsenter', [`--net=${netnsPath(serverNs)}`, '--', 'iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
  try {
    let last = '';
    for (let attempt = 0; attempt < 50; attempt++) {
      const r = await run(inNs(clientNs, ['iperf3', '-c', ip, '-p', '5201', '-t', String(seconds), '-J']), { context: `iperf3 to ${ip}`, allowFailure: true });
      // iperf3 -J can exit 0 and still report an error (e.g. the server was not listening yet) in the JSON.
      let json: { error?: string; end?: { sum_received?: { bits_per_second: number } } } = {};
      try {
        json = JSON.parse(r.stdout) as typeof json;
      } catch {
        /* not JSON: reported below */
      }
      const bps = json.end?.sum_received?.bits_per_second;
      if (r.exitCode === 0 && !json.error && bps !== undefined) return bps / 1e6;
      last = json.error ?? (r.stdout + r.stderr).slice(0, 300);
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`iperf3 to ${ip} kept failing: ${last}`);
  } finally {
    server.kill();
  }
}

/** Average round trip of 100 pings, 10 ms apart, in milliseconds. */
async function latency(clientNs: string, ip: string): Promise<number> {
  const r = await run(inNs(clientNs, ['ping', '-n', '-q', '-c', '100', '-i', '0.01', ip]), { context: `ping ${ip}` });
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  if (!m) throw new Error(`no rtt summary in ping output: ${r.stdout}`);
  return Number(m[1]);
}

async function measure(path: string, serverNs: string, clientNs: string, ip: string, seconds: number, runs = 1): Promise<PathSample> {
  const all: number[] = [];
  for (let i = 0; i < runs; i++) all.push(await throughput(serverNs, clientNs, ip, seconds));
  const mbps = [...all].sort((a, b) => a - b)[Math.floor(all.length / 2)]!;
  const rttMs = await latency(clientNs, ip);
  return { path, mbps, rttMs, ...(runs > 1 ? { runs: all } : {}) };
}

/** Two namespaces joined by one veth pair: the cheapest path a packet can take between namespaces. */
export async function bareVeth(seconds: number): Promise<PathSample> {
  const a = `kube-netlab-bench-veth-a`;
  const b = `kube-netlab-bench-veth-b`;
  await deleteNamespaces([a, b]);
  await createNamespaces([a, b]);
  try {
    await runBatch({ netns: a, lines: ['link set lo up', `link add eth0 type veth peer name eth0 netns ${b}`, 'addr add 10.254.0.1/30 dev eth0', 'link set eth0 up'] });
    await runBatch({ netns: b, lines: ['link set lo up', 'addr add 10.254.0.2/30 dev eth0', 'link set eth0 up'] });
    return await measure('bare veth pair (baseline)', b, a, '10.254.0.2', seconds);
  } finally {
    await deleteNamespaces([a, b]);
  }
}

function labYaml(name: string, backend: BackendName): string {
  const pod = (pod: string, node: string) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${pod}}
spec:
  nodeName: ${node}
  containers: [{name: c, ports: [{containerPort: 8080}]}]
`;
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${name}}
spec:
  nodes: [{name: node1}, {name: node2}]
  podNetwork: {backend: ${backend}}
${pod('a', 'node1')}${pod('b', 'node1')}${pod('c', 'node2')}`;
}

/** Same-node (once, on host-gw) and cross-node samples for one backend, in a lab of its own. */
export async function backendPaths(backend: BackendName, seconds: number, sameNode: boolean): Promise<PathSample[]> {
  const lab = `bench-dp-${backend}`;
  const dir = mkdtempSync(join(tmpdir(), 'kube-netlab-bench-'));
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, labYaml(lab, backend));
  await runToEnd([process.execPath, CLI, 'up', '-f', file]);
  try {
    const ns = (pod: string) => `${lab}.pod.default.${pod}`;
    const ipOf = async (pod: string) => {
      const r = await run(inNs(ns(pod), ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']), { context: `address of ${pod}` });
      return /inet (\S+)\//.exec(r.stdout)![1]!;
    };
    const out: PathSample[] = [];
    if (sameNode) out.push(await measure('pod to pod, same node (cbr0)', ns('b'), ns('a'), await ipOf('b'), seconds));
    // The udp daemon's figure varies most from run to run (it shares the cores with iperf3): the median of three.
    const runs = backend === 'udp' ? 3 : 1;
    out.push(await measure(`pod to pod, cross node, ${backend}`, ns('c'), ns('a'), await ipOf('c'), seconds, runs));
    return out;
  } finally {
    await runToEnd([process.execPath, CLI, 'down', '--name', lab]);
  }
}
