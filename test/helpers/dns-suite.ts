/**
 * The cluster DNS suite, registered once per proxy mode and backend by its
 * test files (one each, so every file stays within tap's per-file timeout
 * on a loaded machine). Cluster DNS on real namespaces: `dig`, `getent`,
 * `nslookup` and `curl` in the pods, through the pods' resolv.conf and the kube-dns service (so
 * through kube-proxy), in iptables and nftables mode. Every record form of
 * the DNS spec, NXDOMAIN vs NODATA, TCP and truncation, forwarding to the
 * internet resolver, resolv.conf per dnsPolicy, and records that follow
 * scale, apply and readiness (that they follow, not how fast: the clock is not asserted).
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, isRoot, labName, tempDir, writeLab } from './cli.js';
import { eventually } from './eventually.js';
import { agentStatus } from '../../dist/agent/client.js';
import { leftovers } from './host.js';

function dnsLab(name: string, backend: string, proxyMode: string, webReplicas = 3, extra = ''): string {
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${name}}
spec:
  podNetwork: {backend: ${backend}}
  serviceNetwork: {proxyMode: ${proxyMode}}
  external:
    cidr: 203.0.113.0/24
    servers:
      - {name: legacy.example.net, address: 203.0.113.50, ports: [80]}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${webReplicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: unnamed}
spec:
  selector: {app: web}
  ports: [{port: 81, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: db
          ports: [{name: sql, containerPort: 5432}, {name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: sql, port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: busybox-1, labels: {app: sub}}
spec:
  hostname: busybox-1
  subdomain: default-subdomain
  containers: [{name: c, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: default-subdomain}
spec:
  clusterIP: None
  selector: {app: sub}
  ports: [{name: foo, port: 1234, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  clusterIP: None
  selector: {app: nobody}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: other}
spec:
  type: ExternalName
  externalName: legacy.example.net
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other}
spec:
  nodeName: node3
  containers: [{name: c}]
---
apiVersion: v1
kind: Pod
metadata: {name: plain}
spec:
  dnsPolicy: Default
  containers: [{name: c}]
---
apiVersion: v1
kind: Pod
metadata: {name: custom}
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: [10.96.0.10]
    searches: [other.svc.cluster.local]
    options: [{name: ndots, value: "2"}, {name: edns0}]
  containers: [{name: c}]
${extra}`;
}


/** Registers the suite for one proxy mode and pod-network backend; skipped without root. */
export function dnsSuite(mode: string, backend: string): void {
  if (!isRoot) {
    t.skip('integration tests need root (network namespaces)');
    return;
  }
  t.test(`cluster DNS, ${mode} on ${backend}`, async (t) => {
    const lab = labName(`d${mode.slice(0, 2)}${backend.slice(0, 2)}`);
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--name', lab]);
    });
    const file = writeLab(dir, lab, dnsLab(lab, backend, mode));
    const up = cli(['up', '-f', file]);
    t.equal(up.code, 0, up.stderr);

    const exec = (pod: string, ...cmd: string[]) => cli(['exec', '--name', lab, pod, '--', ...cmd]);
    const short = (pod: string, ...args: string[]) => exec(pod, 'dig', '+short', ...args).stdout.trim().split('\n').filter(Boolean).sort();
    const pods = JSON.parse(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout).items as { metadata: { name: string; namespace: string }; status: { podIP: string } }[];
    const ipOf = (name: string) => pods.find((p) => p.metadata.name === name)!.status.podIP;
    const svcs = JSON.parse(cli(['get', 'svc', '--name', lab, '-o', 'json']).stdout).items as { metadata: { name: string; namespace: string }; spec: { clusterIP: string } }[];
    const clusterIP = (name: string) => svcs.find((s) => s.metadata.name === name)!.spec.clusterIP;

    // The add-on as kubectl shows it.
    t.match(cli(['get', 'svc', '--name', lab, '-n', 'kube-system']).stdout, /^kube-dns\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+53\/UDP,53\/TCP,9153\/TCP\s/m);
    t.equal(pods.filter((p) => p.metadata.namespace === 'kube-system' && p.metadata.name.startsWith('coredns-')).length, 2, 'two coredns pods');
    t.match(cli(['get', 'pods', '--name', lab, '-n', 'kube-system']).stdout, /^coredns-\S+\s+1\/1\s+Running/m);

    const v = cli(['verify', '--name', lab, '--tap']);
    t.equal(v.code, 0, v.stdout);
    for (const path of [
      /P10 service default\/web \(10\.\S+\) resolves from namespace other by web\.default and web\.default\.svc\.cluster\.local/,
      /P10 service default\/web \(10\.\S+\) resolves from namespace default by web, web\.default and/,
      /P10 headless default\/db: db\.default\.svc\.cluster\.local gives exactly its 2 ready endpoint/,
      /P10 headless default\/nobody: .* \(none: NXDOMAIN\)/,
      /P10 ExternalName other\/legacy: legacy\.other\.svc\.cluster\.local is a CNAME for legacy\.example\.net\./,
      /P10 over TCP/,
      /P10 names outside cluster\.local go through the internet resolver 203\.0\.113\.3: legacy\.example\.net -> 203\.0\.113\.50/,
    ]) {
      t.match(v.stdout, new RegExp(`^ok \\d+ - ${path.source}`, 'm'));
    }

    // Records, asked from a pod in another namespace through its resolv.conf.
    const web = clusterIP('web');
    t.same(short('other/client', 'web.default.svc.cluster.local'), [web], 'ClusterIP A');
    t.same(short('other/client', 'WEB.Default.SVC.cluster.LOCAL'), [web], 'names are case-insensitive');
    t.same(short('other/client', '+tcp', 'web.default.svc.cluster.local'), [web], 'over TCP');
    t.same(short('other/client', '_http._tcp.web.default.svc.cluster.local', 'SRV'), ['0 100 80 web.default.svc.cluster.local.'], 'SRV for the named port');
    t.same(short('other/client', 'web.default.svc.cluster.local', 'SRV'), ['0 100 80 web.default.svc.cluster.local.'], 'SRV on the service name');
    t.same(short('other/client', 'unnamed.default.svc.cluster.local', 'SRV'), [], 'no SRV for an unnamed port');
    t.match(exec('other/client', 'dig', 'unnamed.default.svc.cluster.local', 'SRV').stdout, /status: NOERROR/, 'the name exists: NODATA');
    t.same(short('other/client', '-x', web), ['web.default.svc.cluster.local.'], 'PTR of the ClusterIP');
    const webPods = pods.filter((p) => p.metadata.name.startsWith('web-')).map((p) => p.status.podIP).sort();
    t.same(short('other/client', 'web-headless.default.svc.cluster.local'), webPods, 'headless: one A per ready endpoint');
    t.same(short('other/client', 'db-0.db.default.svc.cluster.local'), [ipOf('db-0')], 'StatefulSet pod by its hostname');
    t.same(short('other/client', '_sql._tcp.db.default.svc.cluster.local', 'SRV'), ['0 50 5432 db-0.db.default.svc.cluster.local.', '0 50 5432 db-1.db.default.svc.cluster.local.'].sort(), 'headless SRV per endpoint');
    t.same(short('other/client', '-x', ipOf('db-1')), ['db-1.db.default.svc.cluster.local.'], 'PTR of a headless endpoint');
    t.same(short('other/client', 'busybox-1.default-subdomain.default.svc.cluster.local'), [ipOf('busybox-1')], 'hostname + subdomain');
    const dashed = ipOf('client').replace(/\./g, '-');
    t.same(short('other/client', `${dashed}.other.pod.cluster.local`), [ipOf('client')], 'pod A record');
    t.same(short('other/client', 'dns-version.cluster.local', 'TXT'), ['"1.1.0"'], 'schema version');
    const cname = exec('other/client', 'dig', 'legacy.other.svc.cluster.local');
    t.match(cname.stdout, /legacy\.other\.svc\.cluster\.local\.\s+\d+\s+IN\s+CNAME\s+legacy\.example\.net\./, 'ExternalName CNAME');
    t.match(exec('other/client', 'getent', 'hosts', 'legacy').stdout, /^203\.0\.113\.50\s/m, 'ExternalName resolves all the way through the internet resolver');

    // Negative answers carry the SOA; unknown outside names are NXDOMAIN at once.
    const nx = exec('other/client', 'dig', 'nosuch.default.svc.cluster.local');
    t.match(nx.stdout, /status: NXDOMAIN/);
    t.match(nx.stdout, /AUTHORITY SECTION:\ncluster\.local\.\s+\d+\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
    const nodata = exec('other/client', 'dig', 'web.default.svc.cluster.local', 'AAAA');
    t.match(nodata.stdout, /status: NOERROR/);
    t.match(nodata.stdout, /ANSWER: 0,/, 'NODATA for AAAA');
    t.match(exec('other/client', 'dig', 'nobody.default.svc.cluster.local').stdout, /status: NXDOMAIN/, 'headless without endpoints');
    const outside = exec('other/client', 'dig', '+tries=1', '+time=2', 'no-such-host.example.org');
    t.match(outside.stdout, /status: NXDOMAIN/);
    const took = Number(/Query time: (\d+) msec/.exec(outside.stdout)?.[1]);
    // An answer at all (not a timeout) is the behaviour; how fast is for npm run bench.
    t.ok(Number.isFinite(took), `unknown outside name answered (in ${took} ms)`);

    // Stub resolvers: short names through the search list.
    t.match(exec('other/client', 'getent', 'hosts', 'web.default').stdout, new RegExp(`^${web.replace(/\./g, '\\.')}\\s+web\\.default\\.svc\\.cluster\\.local`, 'm'));
    t.equal(exec('other/client', 'getent', 'hosts', 'web').code, 2, 'web is not in namespace other: no short name there');
    t.match(exec('default/plain', 'getent', 'hosts', 'legacy.example.net').stdout, /^203\.0\.113\.50\s/m, 'dnsPolicy Default uses the node resolver');
    const web0 = pods.find((p) => p.metadata.name.startsWith('web-'))!.metadata.name;
    t.match(exec(`default/${web0}`, 'nslookup', 'web').stdout, new RegExp(`Address: ${web.replace(/\./g, '\\.')}`), 'nslookup by short name');
    t.match(exec(`default/${web0}`, 'curl', '-sS', '--max-time', '3', 'http://web/').stdout, /"namespace":"default"/, 'curl by short name');
    t.match(exec('other/client', 'curl', '-sS', '--max-time', '3', 'http://web.default/').stdout, /"namespace":"default"/, 'curl by <svc>.<ns>');

    // resolv.conf per dnsPolicy.
    t.equal(exec('other/client', 'cat', '/etc/resolv.conf').stdout, 'nameserver 10.96.0.10\nsearch other.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    t.equal(exec('default/plain', 'cat', '/etc/resolv.conf').stdout, 'nameserver 203.0.113.3\n');
    t.match(exec('default/custom', 'cat', '/etc/resolv.conf').stdout, /^nameserver 10\.96\.0\.10\nsearch other\.svc\.cluster\.local\noptions ndots:2 edns0\n$/);

    // Truncation: a headless answer too big for 512 bytes sets TC over UDP and comes whole over TCP.
    const bigLab = dnsLab(lab, backend, mode, 40);
    t.equal(cli(['apply', '-f', writeLab(dir, lab, bigLab)]).code, 0);
    const settle = await eventually(() => short('other/client', '+tcp', 'web-headless.default.svc.cluster.local').length === 40, { timeout: 15000, every: 200 });
    t.ok(settle, 'the 40 replicas are all endpoints');
    const udp = exec('other/client', 'dig', '+noedns', '+ignore', 'web-headless.default.svc.cluster.local');
    t.match(udp.stdout, /flags: qr aa( rd)?( ra)? ?tc|flags: [^;]*\btc\b/, 'TC over UDP');
    t.match(udp.stdout, /ANSWER: 0,/);

    // Live updates. Each DNS server records when it loaded new records (its state file); the
    // delay is measured from the moment the lab changed (the command returned, or the agent
    // logged the readiness change) to the last of the two servers reloading, then a query
    // confirms what they answer.
    const runDir = `/run/kube-netlab/${lab}`;
    const reloads = () =>
      readdirSync(runDir)
        .filter((f) => /^dns-kube-system-coredns-.*\.json$/.test(f))
        .map((f) => JSON.parse(readFileSync(join(runDir, f), 'utf8')) as { serial: number; updatedAt: string });
    const reloadedAfter = async (serials: number[], since: number) => {
      const r = await eventually(() => reloads().every((x) => !serials.includes(x.serial)), { timeout: 5000 });
      return r ? Math.max(0, Math.max(...reloads().map((x) => Date.parse(x.updatedAt))) - since) : Infinity;
    };
    const serialsNow = () => reloads().map((x) => x.serial);

    let serials = serialsNow();
    t.equal(cli(['scale', '--name', lab, 'deploy/web', '--replicas', '2']).code, 0);
    const scaleMs = await reloadedAfter(serials, Date.now());
    t.ok(Number.isFinite(scaleMs), `scale: both DNS servers reloaded the new records (${scaleMs} ms after the command returned)`);
    t.equal(short('other/client', 'web-headless.default.svc.cluster.local').length, 2, 'and answer the 2 replicas');

    // Readiness: db-1 fails its probe; DNS follows the agent's decision.
    serials = serialsNow();
    t.equal(exec('default/db-1', 'curl', '-sS', '-X', 'POST', 'localhost:8080/ready?state=false').code, 0);
    const decided = await eventually(() => /readiness of default\/db-1\/db: not ready/.test(readFileSync(join(runDir, 'agent.log'), 'utf8')), { timeout: 8000, every: 100 });
    t.ok(decided, 'the agent saw db-1 fail its probe');
    const line = readFileSync(join(runDir, 'agent.log'), 'utf8').split('\n').filter((l) => l.includes('readiness of default/db-1/db: not ready')).pop() ?? '';
    const readyMs = await reloadedAfter(serials, Date.parse(line.split(' ')[0]!));
    t.ok(Number.isFinite(readyMs), `readiness: the DNS servers reloaded after the agent marked db-1 not ready (${readyMs} ms later)`);
    t.same(short('other/client', 'db.default.svc.cluster.local'), [ipOf('db-0')], 'db answers only db-0');
    t.same(short('other/client', 'db-1.db.default.svc.cluster.local'), [], 'its hostname record is gone too');
    const readyIPs = () =>
      (JSON.parse(cli(['get', 'endpoints', '--name', lab, '-o', 'json']).stdout).items as { metadata: { name: string }; subsets: { addresses?: { ip: string }[] }[] }[])
        .find((e) => e.metadata.name === 'db')!
        .subsets.flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
    t.same(readyIPs(), [ipOf('db-0')], 'as the endpoints say');

    // apply of a new service.
    serials = serialsNow();
    const extra = '---\napiVersion: v1\nkind: Service\nmetadata: {name: fresh}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n';
    t.equal(cli(['apply', '-f', writeLab(dir, lab, dnsLab(lab, backend, mode, 2, extra))]).code, 0);
    const applyMs = await reloadedAfter(serials, Date.now());
    t.ok(Number.isFinite(applyMs), `apply: the DNS servers reloaded with the new service (${applyMs} ms after the command returned)`);
    t.equal(short('other/client', 'fresh.default.svc.cluster.local').length, 1, 'and resolves');

    // Killing one DNS pod's container kills its server and no other; the agent starts it again.
    const dnsDaemons = async () => (await agentStatus(runDir)).daemons.filter((d) => d.name.startsWith('dns/kube-system/'));
    const [victim, other] = await dnsDaemons();
    const victimPod = victim!.name.slice('dns/'.length);
    const killed = cli(['fault', '--name', lab, 'kill-container', victimPod]);
    t.equal(killed.code, 0, killed.stderr);
    const back = await eventually(async () => (await dnsDaemons()).find((d) => d.name === victim!.name && d.ready && d.pid !== victim!.pid), { timeout: 30_000, every: 50, what: `${victim!.name} started again` });
    t.ok(back, `${victim!.name} runs again (pid ${victim!.pid} -> ${back?.pid})`);
    t.match(readFileSync(join(runDir, 'agent.log'), 'utf8'), new RegExp(`killed ${victim!.name} with the container of pod ${victimPod}`), 'its server died with the container');
    t.equal((await dnsDaemons()).find((d) => d.name === other!.name)!.pid, other!.pid, 'the other DNS pod kept its server');
    t.match(exec('other/client', 'dig', '+short', `@${ipOf(victimPod.split('/')[1]!)}`, 'web.default.svc.cluster.local').stdout.trim(), /^10\.96\.\d+\.\d+$/, 'and the restarted one answers');

    t.equal(cli(['down', '--name', lab]).code, 0);
    t.same(leftovers(lab), []);
  });
}
