/**
 * Services through kube-proxy on real namespaces, in iptables and nftables
 * mode, on host-gw and vxlan: verify's P5/P6/P13 checks (ClusterIP from
 * every pod, spread, affinity, hairpin, NodePort with both external traffic
 * policies, REJECT without endpoints, internalTrafficPolicy Local, UDP), the
 * rules a user reads with iptables-save / nft, readiness probes moving pods
 * out of and back into endpoints, and `scale` / `apply` changing a running
 * lab without touching the pods that stay.
 */
import { eventually } from './eventually.js';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { CLI, cli, isRoot, labName, tempDir, writeLab } from './cli.js';
import { leftovers } from './host.js';

function servicesLab(name: string, backend: string, proxyMode: string, extra = ''): string {
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${name}}
spec:
  podNetwork: {backend: ${backend}}
  serviceNetwork: {proxyMode: ${proxyMode}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          ports: [{name: http, containerPort: 8080}, {name: echo, containerPort: 5353, protocol: UDP}]
          readinessProbe:
            httpGet: {path: /ready, port: http}
            periodSeconds: 1
            failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: local-only, labels: {app: lonely}}
spec:
  nodeName: node1
  containers: [{name: c, ports: [{containerPort: 9000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node3
  containers: [{name: c}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
    - {name: echo, port: 53, targetPort: echo, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: web-sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: lonely-np}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: lonely}
  ports: [{port: 80, targetPort: 9000, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: lonely-itp}
spec:
  internalTrafficPolicy: Local
  selector: {app: lonely}
  ports: [{port: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
${extra}`;
}

interface EndpointsItem {
  metadata: { name: string };
  subsets: { addresses: { ip: string; targetRef?: { name: string } }[] }[];
}

function endpointPods(lab: string, service: string): string[] {
  const items = JSON.parse(cli(['get', 'endpoints', '--name', lab, '-n', 'default', '-o', 'json']).stdout).items as EndpointsItem[];
  const e = items.find((i) => i.metadata.name === service);
  return (e?.subsets ?? []).flatMap((s) => s.addresses.map((a) => a.targetRef?.name ?? a.ip)).sort();
}


const podIPs = (lab: string) =>
  (JSON.parse(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout).items as { metadata: { name: string }; status: { podIP: string } }[])
    .map((p) => `${p.metadata.name} ${p.status.podIP}`)
    .sort();

/**
 * The suite for one proxy mode on host-gw and on vxlan; one test file per
 * mode, so the two modes run in parallel and each stays within tap's
 * per-file timeout.
 */
export function servicesSuite(t: Test, mode: 'iptables' | 'nftables'): void {
  if (!isRoot) {
    t.skip('integration tests need root (network namespaces)');
    return;
  }
  for (const backend of ['host-gw', 'vxlan']) {
    t.test(`${mode} on ${backend}`, async (t) => {
      const lab = labName(`s${mode.slice(0, 2)}${backend.slice(0, 2)}`);
      const dir = tempDir();
      t.teardown(() => {
        cli(['down', '--name', lab]);
      });
      const up = cli(['up', '-f', writeLab(dir, lab, servicesLab(lab, backend, mode))]);
      t.equal(up.code, 0, up.stderr);

      const svc = cli(['get', 'svc', '--name', lab, '-n', 'default']);
      t.match(svc.stdout, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
      t.match(svc.stdout, /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s/m, 'default/kubernetes at the first service IP');
      t.match(svc.stdout, /^lonely-np\s+NodePort\s+10\.\S+\s+<none>\s+80:30080\/TCP\s/m);
      t.match(svc.stdout, /^web\s+ClusterIP\s+10\.\S+\s+<none>\s+80\/TCP,53\/UDP\s/m);

      const v = cli(['verify', '--name', lab, '--tap']);
      t.equal(v.code, 0, v.stdout);
      for (const path of [
        /P5 pod default\/client -> service default\/web:http .* answered by an endpoint/,
        /P5 pod default\/\S+ -> service default\/web:echo .* echoes through kube-proxy/,
        /P5 pod default\/client -> service default\/nobody .* has no endpoints: refused at once \(REJECT\)/,
        /P5 pod default\/client -> service default\/lonely-itp .* internalTrafficPolicy Local, no endpoint on node3: dropped/,
        /P6 service default\/web:http .*: all 3 endpoints answer within 30 requests/,
        /P6 service default\/web-sticky .*: sessionAffinity ClientIP keeps/,
        /P5 hairpin: pod default\/\S+ reaches itself through .* masqueraded to 10\.244\.\d\.1 \(cbr0\)/,
        /P6 external -> service default\/lonely-np .* NodePort 192\.168\.56\.11:30080: externalTrafficPolicy Local, answered on node1, client IP 203\.0\.113\.10 kept/,
        /P6 external -> service default\/lonely-np .* NodePort 192\.168\.56\.12:30080: externalTrafficPolicy Local, no endpoint on node2: dropped/,
        /P6 external -> service default\/web-np .*: externalTrafficPolicy Cluster, source NATed to the node/,
        /P6 external -> service default\/lonely-np health check 192\.168\.56\.11:\d+: 200, 1 local endpoint\(s\) on node1/,
        /P6 external -> service default\/lonely-np health check 192\.168\.56\.12:\d+: 503, no local endpoint on node2/,
        /P13 external -> node\/node1 192\.168\.56\.11:80 is refused/,
        /P13 external -> service .* is unreachable: the service CIDR is not routed/,
      ]) {
        t.match(v.stdout, new RegExp(`^ok \\d+ - ${path.source}`, 'm'));
      }

      // What a user reads on a node.
      if (mode === 'iptables') {
        const nat = cli(['exec', '--name', lab, 'node/node1', '--', 'iptables-save', '-t', 'nat']).stdout;
        t.match(nat, /^-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES$/m);
        t.match(nat, /^-A KUBE-SERVICES .*-d 10\.96\.0\.1\/32 .*--dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y$/m, 'the upstream hash of default/kubernetes:https');
        t.match(nat, /-m statistic --mode random --probability 0\.33333333349 -j KUBE-SEP-/);
        t.match(nat, /-m recent --rcheck --seconds 60 --reap --name KUBE-SEP-/, 'sessionAffinityConfig timeoutSeconds');
        t.match(nat, /^-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000\/0x4000$/m);
        const filter = cli(['exec', '--name', lab, 'node/node1', '--', 'iptables-save', '-t', 'filter']).stdout;
        t.match(filter, /default\/nobody has no endpoints.* -j REJECT/);
      } else {
        const nft = cli(['exec', '--name', lab, 'node/node1', '--', 'nft', 'list', 'table', 'ip', 'kube-proxy']).stdout;
        t.match(nft, /map service-ips \{/);
        t.match(nft, /numgen random mod 3 vmap \{ 0 : goto endpoint-/);
        t.match(nft, /set affinity-\w+-default\/web-sticky\/tcp\/__[\d.]+\/8080 \{[^}]*timeout 1m/, 'sessionAffinityConfig timeoutSeconds');
      }

      // Readiness: a pod that fails its probe leaves the endpoints, and comes back.
      const web = endpointPods(lab, 'web');
      t.equal(web.length, 3);
      const flip = (state: string) => cli(['exec', '--name', lab, `default/${web[0]}`, '--', 'curl', '-sS', '-X', 'POST', `localhost:8080/ready?state=${state}`]);
      t.equal(flip('false').code, 0);
      t.ok(await eventually(() => endpointPods(lab, 'web').length === 2), `${web[0]} leaves the endpoints of web`);
      const spread = cli(['verify', '--name', lab, '-o', 'json']);
      const checks = JSON.parse(spread.stdout).checks as { name: string; ok: boolean }[];
      t.ok(checks.some((c) => c.ok && /P6 service default\/web:http .*: all 2 endpoints answer/.test(c.name)), 'traffic goes to the two ready pods only');
      t.equal(flip('true').code, 0);
      t.ok(await eventually(() => endpointPods(lab, 'web').length === 3), `${web[0]} is back`);

      // scale and apply change the running lab; pods that stay keep their IPs and connections.
      const before = podIPs(lab);
      const target = JSON.parse(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout).items.find((p: { metadata: { name: string } }) => p.metadata.name === web[1]).status.podIP as string;
      const download = spawn(process.execPath, [CLI, 'exec', '--name', lab, 'default/client', '--', 'curl', '-sS', '--limit-rate', '2M', '-o', '/dev/null', '-w', '%{size_download}', `http://${target}:8080/bytes/6000000`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let downloaded = '';
      download.stdout.on('data', (d: Buffer) => (downloaded += d.toString()));
      // 'close', not 'exit': by then stdout has been read to its end.
      const downloadDone = new Promise<number | null>((r) => download.on('close', r));
      const scaled = cli(['scale', '--name', lab, 'deploy/web', '--replicas', '4']);
      t.equal(scaled.code, 0, scaled.stderr);
      t.equal(await downloadDone, 0, 'a connection open across scale completes');
      t.equal(downloaded, '6000000');
      const after = podIPs(lab);
      t.equal(after.length, before.length + 1);
      t.ok(before.every((p) => after.includes(p)), 'every pod kept its IP');
      t.ok(await eventually(() => endpointPods(lab, 'web').length === 4), 'the new replica becomes an endpoint once its probe passes');
      const added = cli(['apply', '-f', writeLab(dir, lab, servicesLab(lab, backend, mode, '---\napiVersion: v1\nkind: Service\nmetadata: {name: extra}\nspec:\n  selector: {app: web}\n  ports: [{port: 81, targetPort: 8080}]\n'))]);
      t.equal(added.code, 0, added.stderr);
      t.same(podIPs(lab), before, 'apply of the file brings back its 3 replicas, the same pods and IPs');
      t.match(cli(['get', 'svc', '--name', lab, '-n', 'default']).stdout, /^extra\s+ClusterIP/m);
      const again = cli(['verify', '--name', lab, '--tap']);
      t.equal(again.code, 0, again.stdout);
      t.match(again.stdout, /^ok \d+ - P5 pod default\/client -> service default\/extra /m);

      t.equal(cli(['down', '--name', lab]).code, 0);
      t.same(leftovers(lab), []);
    });
  }
}
