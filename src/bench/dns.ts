/**
 * Cluster DNS throughput: `dnsperf` in one pod, 50 clients each with one
 * query outstanding, asking for the same cached A record for a fixed time.
 * Measured against the kube-dns service (both cluster DNS pods, through
 * kube-proxy's DNAT), against one cluster DNS pod directly (one server
 * process: one core), and against `dnsmasq` serving the same record from a
 * pod, all in one run of the default lab under a bench name of its own.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readPlan } from '../apply/state.js';
import { run } from '../kernel/exec.js';
import { netnsPath } from '../kernel/netns.js';
import { CLUSTER_DNS } from '../spec/cluster-dns.js';
import { clusterDnsIp } from '../render/files.js';
import { runToEnd } from './measure.js';
import { PolicyEngine } from '../components/network-policy/engine.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const LAB = 'bench-dns';
const CLIENTS = 50;

export interface DnsRow {
  target: string;
  qps: number;
  /** Share of queries without an answer, in percent. */
  lostPct: number;
  avgLatencyMs: number;
}

function parseDnsperf(text: string): Omit<DnsRow, 'target'> {
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    lostPct: num(/Queries lost:\s+\d+ \(([\d.]+)%\)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
  };
}

async function dnsperf(clientNetns: string, server: string, queries: string, seconds: number): Promise<Omit<DnsRow, 'target'>> {
  const argv = ['nsenter', `--net=${netnsPath(clientNetns)}`, '--', 'dnsperf', '-s', server, '-d', queries, '-c', String(CLIENTS), '-q', String(CLIENTS), '-l', String(seconds), '-t', '2'];
  const r = await run(argv, { context: `dnsperf against ${server}` });
  const row = parseDnsperf(r.stdout);
  if (Number.isNaN(row.qps)) throw new Error(`dnsperf against ${server} printed no rate:\n${r.stdout}${r.stderr}`);
  return row;
}

export async function measureDns(labFile: string, seconds: number): Promise<DnsRow[]> {
  await runToEnd([process.execPath, CLI, 'up', '-f', labFile, '--name', LAB]);
  let dnsmasq: ReturnType<typeof spawn> | undefined;
  try {
    const plan = readPlan(LAB);
    if (!plan) throw new Error(`lab ${LAB} has no plan after up`);
    const name = `kubernetes.default.svc.${plan.spec.clusterDomain}`;
    const answer = plan.services.find((s) => s.key === 'default/kubernetes')!.clusterIP!;
    const dnsPods = plan.pods.filter((p) => p.namespace === CLUSTER_DNS.namespace);
    const others = plan.pods.filter((p) => p.namespace !== CLUSTER_DNS.namespace);
    const client = others[0];
    // dnsmasq needs port 53 of its pod free: a test server may listen there (a container port 53).
    // dnsmasq's pod must also admit the client on 53/UDP (the default lab's shop admits only its own pods).
    const engine = PolicyEngine.fromPlan(plan);
    const free = others.filter(
      (p) => p !== client && !p.hostNetwork && !p.containers.some((c) => c.ports.some((x) => x.containerPort === 53)) && (!client || engine.decide({ kind: 'pod', pod: client }, { kind: 'pod', pod: p }, 53, 'UDP').allowed),
    );
    const host = free.find((p) => p.node !== client?.node) ?? free[0];
    if (!client || !host || !dnsPods[0]) throw new Error(`${labFile} needs at least two pods for the DNS bench`);
    const queries = `/tmp/kube-netlab-${LAB}-queries.txt`;
    writeFileSync(queries, `${name} A\n`);

    // dnsmasq with the same record, alone in a pod of the lab (no test server listens on 53 there).
    dnsmasq = spawn(
      'nsenter',
      [`--net=${netnsPath(host.netns)}`, '--', 'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces', `--listen-address=${host.ip}`, '--port=53', `--host-record=${name},${answer}`, '--local-ttl=30', '--user=root'],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 500));

    const rows: DnsRow[] = [];
    const target = async (label: string, server: string) => rows.push({ target: label, ...(await dnsperf(client.netns, server, queries, seconds)) });
    await target(`kube-dns service ${clusterDnsIp(plan)} (${dnsPods.length} pods, through kube-proxy)`, clusterDnsIp(plan));
    await target(`one cluster DNS pod ${dnsPods[0].ip} (one server process)`, dnsPods[0].ip);
    await target(`dnsmasq in pod ${host.key} (${host.ip})`, host.ip);
    return rows;
  } finally {
    dnsmasq?.kill('SIGTERM');
    await runToEnd([process.execPath, CLI, 'down', '--name', LAB]);
  }
}
