/**
 * `npm run bench`: measures the lab on this machine and writes
 * bench/results.md. Numbers are measurements of one run, never assertions.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BACKENDS } from '../components/pod-network/plan.js';
import type { BackendName } from '../spec/lab.js';
import { backendPaths, bareVeth, type PathSample } from './data-plane.js';
import { neighbourTableLimit, neighboursNeeded } from '../kernel/neighbour-table.js';
import { measureDefaultLab, measureLarge, measureScale, type LargeLabRow, type ScaleRow } from './lab-scale.js';
import { measureSync, type SyncRow } from './proxy-sync.js';
import { measureDns } from './dns.js';
import { measureOutsideIn } from './outside-in.js';
import { measurePolicySync, measureTruthTable, type PolicySyncRow } from './netpol.js';

const RESULTS = fileURLToPath(new URL('../../bench/results.md', import.meta.url));
const DEFAULT_LAB = fileURLToPath(new URL('../../lab/default.yaml', import.meta.url));
const TRUTH_TABLE_LAB = fileURLToPath(new URL('../../lab/netpol-truth-table.yaml', import.meta.url));
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

const s = (ms: number) => (ms / 1000).toFixed(2);

function machine(): string {
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${kernel}, Node ${process.version}`;
}

/** `nft --version`'s number, e.g. v1.0.6. */
function nftVersionOf(): string {
  try {
    return /v[\d.]+/.exec(execFileSync('nft', ['--version'], { encoding: 'utf8' }))?.[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const nftVersion = nftVersionOf();
  const sizes = (process.env.BENCH_PODS ?? '10,100,250').split(',').map(Number);
  const rows: ScaleRow[] = [];
  for (const pods of sizes) {
    process.stderr.write(`bench: ${pods} pods\n`);
    rows.push(await measureScale(pods));
  }
  // PODSxNODES; empty skips it.
  const large = (process.env.BENCH_LARGE ?? '1000x10').split('x').map(Number);
  let largeRow: LargeLabRow | undefined;
  if (large.length === 2 && large.every((n) => n > 0)) {
    process.stderr.write(`bench: ${large[0]} pods on ${large[1]} nodes\n`);
    largeRow = await measureLarge(large[0]!, large[1]!);
  }
  process.stderr.write('bench: default lab\n');
  const def = await measureDefaultLab(DEFAULT_LAB);

  const seconds = Number(process.env.BENCH_IPERF_SECONDS ?? 3);
  process.stderr.write('bench: data plane, bare veth\n');
  const samples: PathSample[] = [await bareVeth(seconds)];
  const backends = Object.keys(BACKENDS) as BackendName[];
  for (const backend of backends) {
    process.stderr.write(`bench: data plane, ${backend}\n`);
    samples.push(...(await backendPaths(backend, seconds, backend === 'host-gw')));
  }
  const base = samples[0]!;

  const syncRows: SyncRow[] = [];
  for (const mode of ['iptables', 'nftables'] as const) {
    for (const count of [1000, 5000]) {
      process.stderr.write(`bench: kube-proxy ${mode} sync, ${count} services\n`);
      syncRows.push(await measureSync(mode, count, count === 5000));
    }
  }
  const ms = (x: number | undefined) => (x === undefined ? '' : x.toFixed(0));
  const policyRows: PolicySyncRow[] = [];
  for (const mode of ['iptables', 'nftables'] as const) {
    process.stderr.write(`bench: network policy ${mode} sync, 100 policies over 250 pods\n`);
    policyRows.push(await measurePolicySync(mode));
  }
  process.stderr.write('bench: verify on the x/y/z model\n');
  const truth = await measureTruthTable(TRUTH_TABLE_LAB, CLI);
  const loadSeconds = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
  process.stderr.write('bench: outside in (load balancer, ingress, failover)\n');
  const oi = await measureOutsideIn(DEFAULT_LAB, loadSeconds);
  const dnsSeconds = Number(process.env.BENCH_DNS_SECONDS ?? 10);
  process.stderr.write('bench: cluster DNS throughput\n');
  const dnsRows = await measureDns(DEFAULT_LAB, dnsSeconds);

  const out = [
    '# kube-netlab benchmark results',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()} by \`npm run bench\`.`,
    '',
    '## Lab scale: pods on 3 nodes (host-gw)',
    '',
    '`raw ip -batch` runs the same rendered batches (namespaces, veths, bridge ports, addresses, routes) from a plain',
    'shell script, one `ip` per namespace, in the same run. `up` adds planning, per-pod files, the pause processes',
    '(started while the kernel objects are built) and the workload: starting the agent and waiting until every',
    'container answers (the workload column, timed from `up`\'s "starting containers" line).',
    '`up / (3 x raw + workload)` is the target ratio: at most 1.00.',
    'Memory is the proportional set size (PSS) of every process the lab runs (agent, daemons, one pause process per',
    'pod and node), summed: shared pages count once in all, where the sum of RSS counts them once per process.',
    '',
    '| pods | `up` (s) | of which workload (s) | raw ip -batch (s) | up / raw | up / (3 x raw + workload) | `down` (s) | lab processes | lab memory, PSS (MB) | sum of RSS (MB) |',
    '|-----:|---------:|----------------------:|------------------:|---------:|--------------------------:|-----------:|--------------:|---------------------:|----------------:|',
    ...rows.map(
      (r) =>
        `| ${r.pods} | ${s(r.upMs)} | ${s(r.workloadMs)} | ${s(r.rawMs)} | ${(r.upMs / r.rawMs).toFixed(2)}x | ${(r.upMs / (3 * r.rawMs + r.workloadMs)).toFixed(2)} | ${s(r.downMs)} | ${r.processes} | ${r.pssMb.toFixed(0)} | ${r.rssMb.toFixed(0)} |`,
    ),
    '',
    'Targets: `up` at 100 pods at most 2.5x the raw baseline, workload included (`up / raw`); `up` at 250 pods under 4 s; lab memory (PSS) at most 200 MB at 250 pods.',
    '',
    ...(largeRow
      ? [
          `### The largest lab: ${largeRow.pods} pods on ${largeRow.nodes} nodes (host-gw, one Deployment behind one ClusterIP Service)`,
          '',
          '| pods | nodes | `up` (s) | `verify` (s) | checks passed | failed | neighbour table full during verify | `down` (s) | lab memory, PSS (MB) |',
          '|-----:|------:|---------:|-------------:|--------------:|-------:|-----------------------------------:|-----------:|---------------------:|',
          `| ${largeRow.pods} | ${largeRow.nodes} | ${s(largeRow.upMs)} | ${s(largeRow.verifyMs)} | ${largeRow.passed} | ${largeRow.failed} | ${largeRow.tableFulls} times | ${s(largeRow.downMs)} | ${largeRow.pssMb.toFixed(0)} |`,
          '',
          'Targets: `up` under 15 s, `verify` under 30 s, `down` under 3 s.',
          '',
          `The kernel keeps one IPv4 neighbour (ARP) table for the whole machine: every namespace's entries count against \`net.ipv4.neigh.default.gc_thresh3\` of the root namespace, ${neighbourTableLimit() ?? 'unknown'} here. A lab of ${largeRow.pods} pods would need about ${neighboursNeeded(largeRow.pods, largeRow.nodes)} entries at once (each pod's gateway, each pod on its node's bridge, pod-to-pod traffic); permanent entries do not count, so a lab this size pins the first two and routes pods on one node to each other through their gateway, which leaves about ${neighboursNeeded(largeRow.pods, largeRow.nodes, true)} to ARP (the nodes among themselves). Where the limit is lower than what is left, new neighbours fail to resolve and checks time out; \`verify\` notes it, with the sysctl to run. The lab never changes the root namespace, and neither does the bench${largeRow.tableFulls > 0 ? ': the checks that failed here timed out while the table was full' : '; the table did not overflow in this run'}.`,
          '',
        ]
      : []),
    '## Default lab (`lab/default.yaml`: 3 nodes, 17 pods including the DNS and ingress add-ons)',
    '',
    '| `up` (s) | `check` (s) | `verify` (s) | `trace` pod → ClusterIP on another node (s) | `graph -o svg` (s) | `down` (s) |',
    '|---------:|------------:|-------------:|--------------------------------------------:|-------------------:|-----------:|',
    `| ${s(def.upMs)} | ${s(def.checkMs)} | ${s(def.verifyMs)} | ${s(def.traceMs)} | ${s(def.graphMs)} | ${s(def.downMs)} |`,
    '',
    '| `exercise start forwarding-off` on the running lab (s) | `exercise check` with the fault in (s) | `exercise check` once solved, verify included (s) |',
    '|------------------------------------------------------:|---------------------------------------:|--------------------------------------------------:|',
    `| ${s(def.exercise.startMs)} | ${s(def.exercise.failingMs)} | ${s(def.exercise.passingMs)} |`,
    '',
    '`verify` is one run of every path check (235 on this lab) as a user runs it. The exercise reuses the running lab (`check` before and after the fault goes in); the grader with the fault in runs the symptom probes (which wait out their timeout) and `check`; once solved it adds a whole `verify`.',
    '',
    '`up` is the median of three, each from nothing to every pod ready (the third stays up for the rest). `check` is the median of three runs, each the whole CLI process (Node.js start included) comparing every link, address, route, neighbour, fdb entry, sysctl, netfilter chain and daemon. `trace` is the median of three traces of `default/toolbox` to `svc/default/web` whose endpoint was on another node: trace tables and monitors in every namespace on the way, the probe, the rules and lookups, the clean-up. `graph` draws the live lab (its `check` included) as SVG. Targets: up under 1.5 s, check under 1 s, trace under 2 s, down under 1 s.',
    '',
    '## Data plane: pod to pod',
    '',
    `TCP throughput by \`iperf3 -t ${seconds}\` (one stream) and the average round trip of 100 pings 10 ms apart, each path`,
    'between two namespaces; ratios are to the bare veth pair measured in the same run (throughput: share of the',
    'baseline; latency: multiple of it).',
    '',
    '| path | throughput (Mbit/s) | vs veth | RTT avg (ms) | vs veth |',
    '|------|--------------------:|--------:|-------------:|--------:|',
    ...samples.map(
      (p) =>
        `| ${p.path} | ${p.mbps.toFixed(0)}${p.runs ? ` (median of ${p.runs.map((r) => r.toFixed(0)).join(', ')})` : ''} | ${(p.mbps / base.mbps).toFixed(2)} | ${p.rttMs.toFixed(3)} | ${(p.rttMs / base.rttMs).toFixed(2)}x |`,
    ),
    '',
    'Targets: vxlan within 2x of host-gw throughput; the udp daemon at least 600 Mbit/s (median of 3 runs). Its TUN hands it TCP super-packets of up to 64 KiB (segmentation offload), which cross whole in one UDP datagram.',
    '',
    '## kube-proxy sync: services x 3 endpoints on one node',
    '',
    '`sync` is what the agent does: render the rules and apply them, with `iptables-restore --noflush`, or in nftables',
    'mode through the libnftables context it keeps per node (a fresh node namespace each time, median of 3). `raw` applies',
    'the identical text with a fresh `iptables-restore` or `nft -f` process, in the same run. `partial` is the sync after one',
    'endpoint of one service changed at that size, right after the full sync on the same node: only that service\'s chains',
    '(and, in iptables mode, the top-level chains) are rewritten.',
    '',
    '| mode | services | full sync (ms) | raw apply (ms) | sync / raw | partial sync (ms) | of which render (ms) | raw partial (ms) |',
    '|------|---------:|---------------:|---------------:|-----------:|------------------:|---------------------:|-----------------:|',
    ...syncRows.map(
      (r) => `| ${r.mode} | ${r.services} | ${ms(r.fullMs)} | ${ms(r.rawMs)} | ${(r.fullMs / r.rawMs).toFixed(2)}x | ${ms(r.partialMs)} | ${ms(r.partialRenderMs)} | ${ms(r.partialRawMs)} |`,
    ),
    '',
    'Targets: sync within 1.5x of raw; a one-endpoint change at 5,000 services under 60 ms (iptables) and 50 ms (nftables).',
    '',
    ...syncRows
      .filter((r) => r.addRuleMs !== undefined && r.mode === 'iptables')
      .map(
        (r) =>
          `A fresh \`iptables-restore --noflush\` adding one chain with a single rule to the ${r.services}-service nat table takes ${ms(r.addRuleMs)} ms ` +
          'here, whatever the rule: on every commit that adds a rule, the kernel walks the jump graph of the whole table from each ' +
          'base chain (`nft_chain_validate`; KUBE-SERVICES is reached from both PREROUTING and OUTPUT), which `perf` puts at 85 to 90 % ' +
          'of that time on this machine. A partial sync cannot cost less than that walk plus its own text, as long as ' +
          'it keeps upstream\'s chain layout and applies it with `iptables-restore`.',
      ),
    ...syncRows
      .filter((r) => r.addRuleMs !== undefined && r.mode === 'nftables')
      .map(
        (r) =>
          `A fresh \`nft -f\` process with a single \`add rule\` into the ${r.services}-service table takes ${ms(r.addRuleMs)} ms here (nftables ` +
          `${nftVersion}): it reads the whole ruleset into its cache first. The agent's kept context reads only the table's chains, and ` +
          'not on the path of a change: this libnftables drops its cache after every commit, its own included, so once each sync ' +
          'has returned the agent checks a probe script (a dry run, never committed) that reads them again, and the partial sync ' +
          'is measured on an agent done with that, as a change arriving after the previous one finds it. ' +
          'What a partial sync still costs is mostly the kernel validating the jumps of the whole table on commit.',
      ),
    '',
    '## NetworkPolicy sync: 100 policies over 250 pods, one node',
    '',
    '`sync` is what the agent does for one node (node1, a third of the pods): build the policy engine from the plan,',
    'compile the node\'s rules, render them and apply them with one `iptables-restore --noflush` or `nft -f` (a fresh',
    'node namespace each run, median of 3). `label change` is the sync after one pod on another node changed its',
    '`app` label, which moves it between peer sets of policies node1 enforces; the node\'s rules are rewritten whole.',
    '`raw` applies the identical texts with the tool alone, in the same run.',
    '',
    '| mode | rules in the text | full sync (ms) | raw (ms) | sync / raw | label change (ms) | raw (ms) | label change / raw |',
    '|------|------------------:|---------------:|---------:|-----------:|------------------:|---------:|-------------------:|',
    ...policyRows.map(
      (r) => `| ${r.mode} | ${r.size} | ${ms(r.fullMs)} | ${ms(r.rawMs)} | ${(r.fullMs / r.rawMs).toFixed(2)}x | ${ms(r.labelMs)} | ${ms(r.rawLabelMs)} | ${(r.labelMs / r.rawLabelMs).toFixed(2)}x |`,
    ),
    '',
    'Target: sync within 1.5x of raw.',
    '',
    '## NetworkPolicy: the x/y/z truth table measured',
    '',
    '`verify --only reachability -o json` on the upstream model (`lab/netpol-truth-table.yaml`: 9 pods, each behind its own',
    'Service) with a ReachabilityTest of ports 80 and 81 over TCP through the Services: every cell connected from inside',
    'its source pod, blocked cells waiting out their 1 s timeout, all at once. Wall time of the whole CLI process, median of 3.',
    '',
    '| cells | verify (s) |',
    '|------:|-----------:|',
    `| ${truth.cells} | ${s(truth.ms)} |`,
    '',
    'Target: under 5 s.',
    '',
    '## Cluster DNS: cached A lookups',
    '',
    `\`dnsperf -c ${50} -q ${50} -l ${dnsSeconds}\` from one pod of the default lab: 50 clients, each with one query outstanding, all`,
    'asking for `kubernetes.default.svc.cluster.local A` (answered from the server\'s cache after the first query). The',
    'same load goes to the kube-dns service, to one cluster DNS pod directly (one single-threaded server process) and to',
    '`dnsmasq` serving the same record from another pod, in the same run. dnsperf shares the 2 cores with the servers.',
    '',
    '| target | queries/s | lost (%) | avg latency (ms) |',
    '|--------|----------:|---------:|-----------------:|',
    ...dnsRows.map((r) => `| ${r.target} | ${r.qps.toFixed(0)} | ${r.lostPct.toFixed(2)} | ${r.avgLatencyMs.toFixed(2)} |`),
    '',
    'Target: at least 15,000 queries/s from one server process (published: CoreDNS ~17k per vCPU, node `dns2` ~12k).',
    '',
    '## Outside in: load balancer and ingress under load',
    '',
    `\`wrk -t 2 -c 50 -d ${loadSeconds}s\` (keep-alive connections) in the default lab, one path after the other in one run: from a pod`,
    'straight to a pod IP, and from the external client through the cloud load balancer (DNAT to a node port, kube-proxy,',
    'the pod) and through the load balancer to ingress-nginx, which proxies straight to the ready endpoint pods (pod',
    "IP:targetPort, ingress-nginx's default: no kube-proxy between nginx and the pod) and to the Service's ClusterIP only with",
    "`service-upstream: \"true\"`. Every pod answer comes from the lab's test server (one Node.js process for every pod),",
    'which bounds all rows; the differences are the cost of the extra hops and of nginx. wrk, nginx and the test server',
    "share the 2 cores. The ingress rows: nginx balancing over the Service's ready endpoints (the default; 20% go to the",
    '`web-canary` canary), then the same Ingress with `service-upstream: "true"` (applied in between), where nginx sends',
    "to the ClusterIP and kube-proxy's DNAT picks the pod.",
    '',
    '| path | requests/s | avg latency (ms) | errors |',
    '|------|-----------:|-----------------:|-------:|',
    ...oi.load.map((r) => `| ${r.path} | ${r.rps.toFixed(0)} | ${r.avgLatencyMs.toFixed(2)} | ${r.errors} |`),
    '',
    '## Outside in: scaling a Deployment behind the ingress',
    '',
    `A stream of requests through the ingress (a new connection each, 50 per second, an answer due within 2 s) while`,
    `\`scale deploy/${oi.scale.deployment}\` goes from ${oi.scale.from} to ${oi.scale.to} replicas and back. A removed pod leaves the endpoints first;`,
    'kube-proxy and both ingress controllers (nginx reloaded, its new workers answering) follow before its containers stop.',
    '',
    '| requests sent | lost | scale down (s) | scale up until ready (s) |',
    '|--------------:|-----:|---------------:|-------------------------:|',
    `| ${oi.scale.sent} | ${oi.scale.lost} | ${s(oi.scale.downMs)} | ${s(oi.scale.upMs)} |`,
    '',
    'Target: nothing lost.',
    '',
    '## Outside in: a node fails behind the load balancer',
    '',
    `A stream of requests, each on a new connection, 50 per second, from the external client to ${oi.failover.service}'s`,
    `load-balancer IP; after 3 s \`fault node-down ${oi.failover.node}\` (a node running one of its pods), after 5 more`,
    '`node-up`. The load balancer checks every node once a second (500 ms timeout) and takes one out after 2 failures.',
    '',
    '| requests sent | lost | last lost request sent after the failure (ms) | load balancer marked the node unhealthy after (ms) | back in rotation after node-up (ms) |',
    '|--------------:|-----:|----------------------------------------------:|--------------------------------------------------:|------------------------------------:|',
    `| ${oi.failover.sent} | ${oi.failover.lost} | ${oi.failover.lossWindowMs} | ${oi.failover.detectMs} | ${oi.failover.recoverMs} |`,
    '',
    'Target: no request lost after the detection window (at most 3 s); the lost ones are those sent to the failed node',
    'before the load balancer took it out.',
    '',
  ];
  writeFileSync(RESULTS, out.join('\n'));
  process.stdout.write(out.join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
