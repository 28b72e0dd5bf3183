/**
 * From the outside in, on real namespaces (iptables mode, vxlan): the cloud
 * load balancer (LB IPs, health checks, failover, source ranges, client IP
 * with externalTrafficPolicy Local), ingress-nginx (hosts, paths, 404, TLS
 * from a Secret and from the lab CA, reload on apply without a lost
 * request), hostPort and hostNetwork, egress SNAT, ExternalName followed by
 * curl, the fault commands, and the ClusterIP-route anti-pattern breaking
 * when its node fails. Every lab is removed, even when a check fails.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cli, isRoot, labName, tempDir, writeLab } from '../helpers/cli.js';
import { leftovers, rootSnapshot } from '../helpers/host.js';
import { agentStatus } from '../../dist/agent/client.js';
import { isAlive, processesInNamespaces } from '../../dist/kernel/procs.js';
import { eventually } from '../helpers/eventually.js';

const STREAM = join(ROOT, 'dist/bench/request-stream.js');
/**
 * A request counts as lost when no answer comes within 2 s: a failed node's
 * requests never get one, while one test server serving every pod on a
 * machine busy with a parallel suite can pause for a second.
 */
const LOST_AFTER_MS = '2000';
const PINNED_AFTER_MS = '5000';

function lab(name: string, tls: { cert: string; key: string }, extraPath = ''): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${name}}
spec:
  podNetwork: {backend: vxlan}
  nodeMonitorGracePeriodSeconds: 3
  external:
    cidr: 203.0.113.0/24
    servers:
      - {name: legacy.example.net, address: 203.0.113.50, ports: [80, 8080]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {kubernetes.io/hostname: node1}
      containers:
        - name: web
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web}}
spec:
  nodeName: node3
  containers:
    - name: web
      ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: api, labels: {app: api}}
spec:
  nodeName: node2
  containers:
    - name: api
      ports: [{name: http, containerPort: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: web-cluster}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-local}
spec:
  type: LoadBalancer
  loadBalancerIP: 203.0.113.77
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-closed}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [198.51.100.0/24]
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
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
metadata: {name: api}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8000, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: legacy}
spec:
  type: ExternalName
  externalName: legacy.example.net
---
apiVersion: v1
kind: Secret
metadata: {name: shop-tls}
type: kubernetes.io/tls
data:
  tls.crt: ${b64(tls.cert)}
  tls.key: ${b64(tls.key)}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  ingressClassName: nginx
  tls:
    - {hosts: [shop.example.com], secretName: shop-tls}
    - {hosts: [secure.example.com]}
  rules:
    - host: shop.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
          - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8000}}}}
          - {path: /api/exact, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}${extraPath}
    - host: "*.apps.example.com"
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 8000}}}}
    - host: secure.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: hp, labels: {app: hp}}
spec:
  nodeName: node2
  containers:
    - name: hp
      ports: [{containerPort: 8080, hostPort: 8081}]
---
apiVersion: v1
kind: Pod
metadata: {name: hn, labels: {app: hn}}
spec:
  nodeName: node3
  hostNetwork: true
  containers:
    - name: agent
      ports: [{containerPort: 9100}]
`;
}

interface Answer {
  pod?: string;
  clientIP?: string;
  node?: string;
}

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  t.test('outside in: load balancer, ingress, hostPort, hostNetwork, egress and failures', async (t) => {
    const name = labName('oi');
    const dir = tempDir();
    const before = rootSnapshot();
    t.teardown(() => {
      cli(['down', '--name', name]);
    });
    // A self-signed certificate for the Secret, as a user would bring one.
    const key = join(dir, 'shop.key');
    const crt = join(dir, 'shop.crt');
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=shop.example.com', '-addext', 'subjectAltName=DNS:shop.example.com', '-keyout', key, '-out', crt]);
    t.equal(gen.status, 0, String(gen.stderr));
    const tls = { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
    const file = writeLab(dir, name, lab(name, tls));
    const up = cli(['up', '-f', file]);
    t.equal(up.code, 0, up.stderr);
    const runDir = `/run/kube-netlab/${name}`;
    const ca = join(runDir, 'ingress/ca.crt');

    const ext = (...cmd: string[]) => cli(['exec', '--name', name, 'external', '--', ...cmd]);
    const exec = (target: string, ...cmd: string[]) => cli(['exec', '--name', name, target, '--', ...cmd]);
    const getJson = (url: string, ...curlArgs: string[]): Answer => {
      const r = ext('curl', '-sS', '--max-time', '3', ...curlArgs, url);
      try {
        return JSON.parse(r.stdout) as Answer;
      } catch {
        return { pod: `<${r.stdout.slice(0, 80)}${r.stderr.slice(0, 80)}>` };
      }
    };
    const status = (url: string, ...curlArgs: string[]) => ext('curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', ...curlArgs, url).stdout;

    // EXTERNAL-IP as kubectl shows it: the pool's first addresses, the asked-for one honoured.
    const svc = cli(['get', 'svc', '--name', name, '-n', 'default']).stdout;
    t.match(svc, /^web-cluster\s+LoadBalancer\s+10\.\S+\s+203\.0\.113\.192\s+80:3\d{4}\/TCP/m);
    t.match(svc, /^web-local\s+LoadBalancer\s+10\.\S+\s+203\.0\.113\.77\s+80:3\d{4}\/TCP/m);
    t.match(svc, /^web-closed\s+LoadBalancer\s+10\.\S+\s+203\.0\.113\.193\s/m);
    const ingressIP = JSON.parse(cli(['get', 'svc', '--name', name, '-n', 'ingress-nginx', '-o', 'json']).stdout).items[0].status.loadBalancer.ingress[0].ip as string;
    t.equal(ingressIP, '203.0.113.194');

    t.test('verify proves P6-P9 and P12 from the external client', async (t) => {
      const v = cli(['verify', '--name', name, '--tap']);
      t.equal(v.code, 0, v.stdout.split('\n').filter((l) => l.startsWith('not ok')).join('\n'));
      for (const p of ['P6', 'P7', 'P8', 'P9', 'P12']) t.match(v.stdout, new RegExp(`^ok \\d+ - ${p} `, 'm'), `${p} checked`);
    });

    t.test('load balancer: Cluster masquerades, Local keeps the client IP and skips nodes without endpoints, source ranges drop', async (t) => {
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const a = getJson('http://203.0.113.192/');
        seen.add(a.pod ?? '');
        t.not(a.clientIP, '203.0.113.10', 'Cluster: the node masquerades');
      }
      t.equal(seen.size, 3, `all 3 web pods answer through the LB: ${[...seen].join(', ')}`);
      for (let i = 0; i < 10; i++) t.equal(getJson('http://203.0.113.77/').clientIP, '203.0.113.10', 'Local: the client IP reaches the pod');
      const state = JSON.parse(readFileSync(join(runDir, 'cloud-load-balancer.json'), 'utf8')) as { balancers: { service: string; targets: string[] }[] };
      t.same(state.balancers.find((b) => b.service === 'default/web-local')!.targets, ['node1', 'node3'], 'node2 has no web pod: its health check node port says 503');
      t.equal(status('http://203.0.113.193/', '--connect-timeout', '1'), '000', 'outside loadBalancerSourceRanges: dropped at the load balancer');
      t.match(exec('lb', 'nft', 'list', 'table', 'ip', 'kube-netlab-lb').stdout, /ip daddr 203\.0\.113\.193 tcp dport 80 ip saddr != 198\.51\.100\.0\/24 counter packets [1-9]/);
      // Pods reach an LB IP through kube-proxy on their node, not through the internet.
      t.match(getJson('http://203.0.113.192/').pod, /^web-/);
    });

    t.test('ingress: hosts, paths, wildcard, 404, TLS from the Secret and from the lab CA', async (t) => {
      const via = (host: string, port: number) => ['--resolve', `${host}:${port}:${ingressIP}`];
      t.equal(status('http://shop.example.com/', ...via('shop.example.com', 80)), '308', 'TLS host: plain HTTP is redirected');
      const https = (host: string, path: string, cafile: string) => getJson(`https://${host}${path}`, ...via(host, 443), '--cacert', cafile);
      t.match(https('shop.example.com', '/', crt).pod, /^web-/, 'the Secret certificate verifies for shop.example.com');
      t.equal(https('shop.example.com', '/api', crt).pod, 'api');
      t.equal(https('shop.example.com', '/api/v1/x', crt).pod, 'api', 'element-wise prefix');
      t.match(https('shop.example.com', '/apix', crt).pod, /^web-/, '/apix is not under /api');
      t.match(https('shop.example.com', '/api/exact', crt).pod, /^web-/, 'Exact beats the shorter prefix');
      t.match(https('secure.example.com', '/', ca).pod, /^web-/, 'the lab CA signs the generated certificate');
      const wrong = ext('curl', '-sS', '--max-time', '3', ...via('secure.example.com', 443), '--cacert', crt, 'https://secure.example.com/');
      t.not(wrong.code, 0, 'and the Secret certificate is not what secure.example.com serves');
      t.equal(getJson('http://a.apps.example.com/', ...via('a.apps.example.com', 80)).pod, 'api', 'wildcard: one label');
      t.equal(status('http://a.b.apps.example.com/', ...via('a.b.apps.example.com', 80)), '404', 'wildcard: not two labels');
      t.equal(status('http://nobody.example.com/', ...via('nobody.example.com', 80)), '404', 'no rule, no default backend');
      // The internet resolver publishes the precise hosts at the controller's LB IP.
      t.equal(ext('dig', '+short', 'secure.example.com').stdout.trim(), ingressIP);
      // The backend sees the controller pod, and nginx tells it who the client was.
      t.match(https('secure.example.com', '/', ca).clientIP, /^10\.244\./);
    });

    t.test('hostPort on its node only; hostNetwork on the node address; egress SNAT; ExternalName followed by curl', async (t) => {
      t.equal(getJson('http://192.168.56.12:8081/').pod, 'hp');
      t.equal(getJson('http://192.168.56.12:8081/').clientIP, '203.0.113.10', 'DNAT without masquerade: the client IP is kept');
      t.equal(status('http://192.168.56.11:8081/'), '000', 'node1 has no such host port');
      t.match(exec('node/node2', 'iptables-save', '-t', 'nat').stdout, /-A CNI-DN-[0-9a-f]+ -p tcp -m tcp --dport 8081 -j DNAT --to-destination 10\.244\.1\.\d+:8080/);
      const hn = getJson('http://192.168.56.13:9100/') as Answer & { podIP?: string };
      t.equal(hn.pod, 'hn');
      t.equal(hn.podIP, '192.168.56.13', 'hostNetwork: the pod IP is the node IP');
      t.match(cli(['get', 'pods', '--name', name, '-o', 'wide']).stdout, /^default\s+hn\s+1\/1\s+Running\s+\d+\s+\S+\s+192\.168\.56\.13\s+node3/m);
      for (const [pod, nodeIP] of [['hp', '192.168.56.12'], ['web-b', '192.168.56.13']] as const) {
        const r = JSON.parse(exec(pod, 'curl', '-sS', '--max-time', '3', 'http://legacy.example.net:8080/').stdout) as Answer;
        t.same([r.pod, r.clientIP], ['legacy.example.net', nodeIP], `${pod} leaves with its node's IP`);
      }
      const viaName = JSON.parse(exec('hp', 'curl', '-sS', '--max-time', '3', 'http://legacy/').stdout) as Answer;
      t.equal(viaName.pod, 'legacy.example.net', 'ExternalName: CNAME to the outside name, curl reaches the server');
      const toPod = JSON.parse(exec('hp', 'curl', '-sS', '--max-time', '3', 'http://web/').stdout) as Answer;
      t.match(toPod.clientIP, /^10\.244\./, 'pod to service stays un-NATed (pod IP)');
    });

    t.test('apply: a new ingress path, nginx reloads, a request stream loses nothing', async (t) => {
      const streamArgs = ['ip', 'netns', 'exec', `${name}.ext.external`, process.execPath, STREAM, `http://${ingressIP}/`, '6000', '20', LOST_AFTER_MS];
      // Host header through the LB IP: plain HTTP to the TLS-less wildcard host.
      // No Host header: the default server's 404 is an answer too (a lost request is a refused or unanswered one).
      const child = spawnAsync(streamArgs);
      await new Promise((r) => setTimeout(r, 1000));
      writeFileSync(file, lab(name, tls, '\n          - {path: /new, pathType: Exact, backend: {service: {name: api, port: {number: 8000}}}}'));
      const applied = cli(['apply', '-f', file]);
      t.equal(applied.code, 0, applied.stderr);
      const result = JSON.parse(await child) as { sent: number; ok: number; failures: unknown[] };
      t.ok(result.sent > 100, `${result.sent} requests sent`);
      t.same(result.failures, [], 'no request lost across the reload');
      let got: Answer = {};
      await eventually(() => (got = getJson('https://shop.example.com/new', '--resolve', `shop.example.com:443:${ingressIP}`, '--cacert', crt)).pod === 'api', { every: 100, timeout: 60_000 });
      t.equal(got.pod, 'api', 'the new path is served');
    });

    t.test('node-down: the load balancer stops sending to node1, the node controller takes its pods out; nothing sent after both is lost; node-up brings it back', async (t) => {
      // A connection the lab pins to the dead node never answers, however long it waits: conntrack sends every retransmitted
      // SYN the same way. One whose first packets a loaded machine dropped answers after TCP's retransmits (1 s, then 3 s):
      // waiting 5 s tells the two apart.
      const stream = (ip: string) => spawnAsync(['ip', 'netns', 'exec', `${name}.ext.external`, process.execPath, STREAM, `http://${ip}/`, '13000', '20', PINNED_AFTER_MS]);
      // Local: only the load balancer's health check matters. Cluster: the other nodes also forward to node1's pods until they leave the endpoints.
      // Conntrack entries with the time they were made, so a lost flow's entries say whether a rule decided it before or after the sync.
      for (const where of ['lb', 'node/node1', 'node/node2', 'node/node3']) exec(where, 'sysctl', '-qw', 'net.netfilter.nf_conntrack_timestamp=1');
      const local = stream('203.0.113.77');
      const cluster = stream('203.0.113.192');
      await new Promise((r) => setTimeout(r, 2000));
      const downAt = Date.now();
      const down = cli(['fault', '--name', name, 'node-down', 'node1']);
      t.equal(down.code, 0, down.stderr);
      t.match(down.stderr, /after 3 s \(nodeMonitorGracePeriodSeconds\) it is NotReady/);
      const [l, c] = (await Promise.all([local, cluster])).map((o) => JSON.parse(o) as { sent: number; ok: number; failures: { sentAt: number; error: string; localPort?: number }[] });
      // The events, in the order the logs say they happened (one clock, the machine's; no window of time is assumed).
      const logged = (file: string) =>
        readFileSync(join(runDir, file), 'utf8')
          .split('\n')
          .map((line) => ({ at: Date.parse(line.slice(0, 24)), text: line.slice(25) }))
          .filter((e) => e.at >= downAt);
      const lb = logged('cloud-load-balancer.log');
      const agent = logged('agent.log');
      const lbDropped = lb.find((e) => e.text.startsWith('load balancer: forwarding ') && /default\/web-local -> node3(;|$)/.test(e.text));
      t.ok(lbDropped, `the load balancer forwards without node1: ${lb.map((e) => e.text).join(' | ')}`);
      const notReady = agent.find((e) => e.text.includes('node lifecycle: NotReady: node1'));
      t.ok(notReady, 'the node controller marked node1 NotReady');
      // The sync that took node1's pods out: fewer endpoints on node1 than before (one already running when node1
      // became NotReady still had them; the API server's endpoint on node1 stays, as it does upstream).
      const onNode1 = (text: string) => Number(/ready endpoints by node: .*\bnode1 (\d+)/.exec(text)?.[1] ?? 0);
      const syncs = readFileSync(join(runDir, 'agent.log'), 'utf8').split('\n').filter((l) => l.includes(' kube-proxy: rules of '));
      const beforeDown = onNode1(syncs.filter((l) => Date.parse(l.slice(0, 24)) < downAt).at(-1) ?? '');
      const synced = agent.find((e) => notReady !== undefined && e.at >= notReady.at && e.text.startsWith('kube-proxy: rules of ') && onNode1(e.text) < beforeDown);
      t.ok(synced, `kube-proxy synced without node1's endpoints: ${agent.map((e) => e.text).join(' | ')}`);
      // Where the load balancer sent a service's new connections at a moment: its last `forwarding` line before it (the
      // rules are in place when it logs). When every node fails its checks it sends to all of them, as a cloud's does.
      const lbAll = readFileSync(join(runDir, 'cloud-load-balancer.log'), 'utf8')
        .split('\n')
        .map((line) => ({ at: Date.parse(line.slice(0, 24)), text: line.slice(25) }))
        .filter((e) => e.text.startsWith('load balancer: forwarding '));
      const targetsAt = (service: string, ms: number) => {
        const line = lbAll.filter((e) => e.at < ms).at(-1)?.text ?? '';
        return new RegExp(`${service.replace('/', '\\/')} -> ([\\w,]+)`).exec(line)?.[1]?.split(',') ?? [];
      };
      const cases: [string, typeof l, string, (sentAt: number) => boolean, string][] = [
        ['Local', l, 'default/web-local', () => true, 'the load balancer sent nowhere near node1'],
        ['Cluster', c, 'default/web-cluster', (sentAt) => synced !== undefined && sentAt > synced.at, 'the load balancer sent nowhere near node1 and kube-proxy held none of its pods'],
      ];
      for (const [what, result, service, proxied, event] of cases) {
        // Lost although, when it was sent, nothing sent it toward node1.
        const unexplained = result!.failures.filter((f) => f.sentAt > downAt && !targetsAt(service, f.sentAt).includes('node1') && targetsAt(service, f.sentAt).length > 0 && proxied(f.sentAt));
        // A new connection from a client port an earlier, unanswered one used is the same flow to conntrack: it follows
        // the entry made for the earlier one, and no rule of the lab sees it. Such a request was decided before it was
        // sent, which its entries' creation times (to the second) show; every other lost request is the lab's.
        const entriesOf = (port: number) =>
          ['lb', 'node/node1', 'node/node2', 'node/node3'].map((where) => ({ where, text: exec(where, 'conntrack', '-L', '-o', 'ktimestamp', '-p', 'tcp', '-s', '203.0.113.10', '--sport', String(port)).stdout.trim() }));
        const madeBefore = (f: { sentAt: number; localPort?: number }) =>
          f.localPort !== undefined &&
          entriesOf(f.localPort).some((e) => [...e.text.matchAll(/\[start=([^\]]+)\]/g)].some((m) => Date.parse(m[1]!) + 1000 <= f.sentAt));
        const lost = unexplained.filter((f) => !madeBefore(f));
        for (const f of unexplained.filter((x) => !lost.includes(x))) t.comment(`port ${f.localPort}: sent +${f.sentAt - downAt} ms, it followed a conntrack entry made before it was sent: ${entriesOf(f.localPort!).map((e) => `${e.where}: ${e.text}`).join(' | ')}`);
        t.comment(`failover, ${what}: ${result!.failures.length} of ${result!.sent} requests lost, the last sent ${result!.failures.length ? result!.failures.at(-1)!.sentAt - downAt : 0} ms after node-down`);
        t.same(lost, [], `${what}: nothing is lost that was sent while ${event}`);
        if (lost.length) {
          // What happened when, for whoever reads a failure: the events and the lost requests on one clock.
          const at = (ms: number) => `+${ms - downAt} ms`;
          t.comment(`lost: ${lost.map((f) => at(f.sentAt)).join(', ')}`);
          for (const e of [...lb, ...agent].sort((x, y) => x.at - y.at)) t.comment(`${at(e.at)} ${e.text}`);
          // Where each lost flow went: its conntrack entries on the load balancer and the nodes, by the client's port.
          for (const f of lost.filter((x) => x.localPort)) {
            for (const where of ['lb', 'node/node1', 'node/node2', 'node/node3']) {
              const entries = exec(where, 'conntrack', '-L', '-o', 'ktimestamp', '-p', 'tcp', '--sport', String(f.localPort)).stdout.trim();
              if (entries) t.comment(`port ${f.localPort} in ${where}: ${entries}`);
            }
          }
        }
        t.ok(result!.ok > result!.sent / 2, `${what}: ${result!.ok} answered`);
      }
      const state = JSON.parse(readFileSync(join(runDir, 'cloud-load-balancer.json'), 'utf8')) as { balancers: { service: string; targets: string[] }[] };
      t.same(state.balancers.find((b) => b.service === 'default/web-local')!.targets, ['node3']);
      t.match(readFileSync(join(runDir, 'cloud-load-balancer.log'), 'utf8'), /node node1 unhealthy \(http 192\.168\.56\.11:\d+: /);
      t.match(cli(['get', 'nodes', '--name', name]).stdout, /^node1\s+NotReady\s/m, 'node1 is NotReady');
      t.match(readFileSync(join(runDir, 'agent.log'), 'utf8'), /node lifecycle: NotReady: node1; their pods leave every service/);

      // The anti-pattern: the service CIDR routed to one node. It works until that node fails.
      const routes: [string, string][] = [
        ['internet', '203.0.113.4'],
        ['lb', '203.0.113.2'],
        ['router', '192.168.56.11'],
      ];
      for (const [where, via] of routes) t.equal(exec(where, 'ip', 'route', 'add', '10.96.0.0/12', 'via', via).code, 0);
      const items = JSON.parse(cli(['get', 'svc', '--name', name, '-o', 'json']).stdout).items as { metadata: { name: string }; spec: { clusterIP: string } }[];
      const clusterIP = items.find((i) => i.metadata.name === 'web')!.spec.clusterIP;
      t.equal(status(`http://${clusterIP}/`, '--connect-timeout', '1'), '000', 'ClusterIP via node1: dead with node1');
      t.equal(cli(['fault', '--name', name, 'node-up', 'node1']).code, 0);
      let code = '';
      await eventually(() => (code = status(`http://${clusterIP}/`, '--connect-timeout', '1')) === '200', { every: 100, timeout: 60_000 });
      t.equal(code, '200', 'ClusterIP via node1: works while node1 is up');
      let targets: string[] = [];
      await eventually(
        () =>
          (targets = (JSON.parse(readFileSync(join(runDir, 'cloud-load-balancer.json'), 'utf8')) as { balancers: { service: string; targets: string[] }[] }).balancers.find((b) => b.service === 'default/web-local')!.targets)
            .length === 2,
        { every: 100, timeout: 60_000 },
      );
      t.same(targets, ['node1', 'node3'], 'node1 is back behind the load balancer');
      t.match(cli(['get', 'nodes', '--name', name]).stdout, /^node1\s+Ready\s/m, 'node1 is Ready again');
    });

    t.test('kill-pod: the containers die and come back, the pod keeps its IP', async (t) => {
      const k = cli(['fault', '--name', name, 'kill-pod', 'api']);
      t.equal(k.code, 0, k.stderr);
      t.match(k.stderr, /killed the containers of pod default\/api/);
      const ok = await eventually(() => getJson('http://a.apps.example.com/', '--resolve', `a.apps.example.com:80:${ingressIP}`).pod === 'api', { every: 200, timeout: 60_000 });
      t.ok(ok, 'api answers again through the ingress');
    });

    t.test('an ingress controller killed outright: restarted, and the nginx master and workers it left are gone', async (t) => {
      const controller = (await agentStatus(runDir)).daemons.find((d) => d.name.startsWith('ingress/'))!;
      const nginxIn = () => processesInNamespaces([`/run/netns/${controller.netns}`]).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'latin1').trim() === 'nginx');
      const old = nginxIn();
      t.ok(old.length >= 2, `nginx master and worker(s) run: ${old.join(', ')}`);
      process.kill(controller.pid!, 'SIGKILL');
      const next = await eventually(
        async () => (await agentStatus(runDir)).daemons.find((d) => d.name === controller.name && d.ready && d.pid !== controller.pid),
        { every: 50, timeout: 30_000, what: 'the restarted ingress controller' },
      );
      t.not(next!.pid, controller.pid, 'the agent started another controller');
      t.same(old.filter(isAlive), [], 'no process of the old nginx is left (its workers outlive a killed master)');
      t.same(nginxIn().filter((pid) => old.includes(pid)), []);
      t.equal(getJson('http://a.apps.example.com/', '--resolve', `a.apps.example.com:80:${ingressIP}`).pod, 'api', 'the new nginx serves');
    });

    t.test('down leaves nothing and the root namespace unchanged', async (t) => {
      t.equal(cli(['down', '--name', name]).code, 0);
      t.same(leftovers(name), []);
      t.same(rootSnapshot(), before);
    });
  });
}

/** Runs a program to completion; its stdout, or a rejection with its stderr. */
function spawnAsync(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
  });
}
