/**
 * The shipped lab in nftables mode on host-gw: every check of the default
 * lab passes, its shop policy included (P11, and the checks that expect its
 * drops). As shipped (iptables on vxlan) it is verified whole by every
 * exercise's grader (test/integration/exercises-*.test.ts), each time after
 * one fault was put in and repaired.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../../dist/model/types.js';
import { pingOnce } from '../../dist/verify/ping.js';
import { agentStatus } from '../../dist/agent/client.js';
import { ROOT, cli, isRoot, labName, tempDir, writeLab } from '../helpers/cli.js';

if (!isRoot) t.skip('integration tests need root (network namespaces)');
if (isRoot) {
  for (const [mode, backend] of [['nftables', 'host-gw']] as const) {
    t.test(`lab/default.yaml verifies, ${mode} on ${backend}`, async (t) => {
      const name = labName(`dl${mode.slice(0, 2)}`);
      const dir = tempDir();
      t.teardown(() => {
        cli(['down', '--name', name]);
      });
      let text = readFileSync(join(ROOT, 'lab/default.yaml'), 'utf8');
      text = text.replace('backend: vxlan', `backend: ${backend}`).replace('proxyMode: iptables', `proxyMode: ${mode}`);
      const file = writeLab(dir, name, text);
      const up = cli(['up', '-f', file, '--name', name]);
      t.equal(up.code, 0, up.stderr);

      // Whether the agent started the plan's daemons before plan.json (it does when it boots first) or with it, each was started once.
      const runDir = `/run/kube-netlab/${name}`;
      const agentLog = readFileSync(join(runDir, 'agent.log'), 'utf8');
      const { daemons } = await agentStatus(runDir);
      t.ok(daemons.length >= 6, 'three DNS servers, two ingress controllers, the load balancer');
      for (const d of daemons) {
        const starts = [...agentLog.matchAll(new RegExp(`daemon ${d.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} started \\(pid (\\d+)\\)`, 'g'))];
        t.same({ starts: starts.map((m) => Number(m[1])), restarts: d.restartCount, ready: d.ready }, { starts: [d.pid], restarts: 0, ready: true }, `${d.name}: started once, and serves`);
      }
      t.notOk(existsSync(join(runDir, 'daemons.prestart.json')), 'the list of daemons is gone once the agent is ready');
      const v = cli(['verify', '--name', name, '--tap']);
      t.equal(v.code, 0, v.stdout.split('\n').filter((l) => l.startsWith('not ok')).join('\n'));
      for (const p of ['P7', 'P8', 'P9', 'P11', 'P12']) t.match(v.stdout, new RegExp(`^ok \\d+ - ${p} `, 'm'), `${p} checked`);
      t.match(v.stdout, /^ok \d+ - P7 external -> load balancer 203\.0\.113\.192:80 -> service shop\/storefront:http: externalTrafficPolicy Local/m);
      t.match(v.stdout, /^ok \d+ - P8 external -> ingress 203\.0\.113\.193 https:\/\/shop\.example\.com\/api: rule Prefix \/api of Ingress shop\/shop -> endpoints of service shop\/api/m);
      t.match(v.stdout, /^ok \d+ - P8 external -> ingress 203\.0\.113\.193 http:\/\/api\.example\.com\/v1\/kube-netlab: .* rewritten to \/kube-netlab/m, 'the rewrite');
      t.match(v.stdout, /^ok \d+ - P8 external -> ingress 203\.0\.113\.193 http:\/\/www\.example\.com\/: .* canary www-canary takes 20%: both answer in \d+ requests/m, 'the canary');
      t.match(v.stdout, /^ok \d+ - P11 default\/\S+ -> shop\/\S+ blocked: shop\/\S+ is isolated for ingress by shop\/shop-ingress/m, 'the shop admits no other namespace');
      t.match(v.stdout, /^ok \d+ - P5 pod default\/toolbox -> service shop\/api:http .* is dropped by NetworkPolicy/m);

      // verify's pings come from echo sockets it opens in the namespaces the lab gave the pod sandbox's sysctl.
      const plan = JSON.parse(readFileSync(`/run/kube-netlab/${name}/plan.json`, 'utf8')) as Plan;
      const toolbox = plan.pods.find((p) => p.key === 'default/toolbox')!;
      const other = plan.pods.find((p) => !p.hostNetwork && p.node !== toolbox.node)!;
      const reply = await pingOnce(toolbox.netns, other.ip, 2000);
      t.match(reply, { replied: true, line: new RegExp(`^64 bytes from ${other.ip.replace(/\./g, '\\.')}: icmp_seq=1 time=`) }, 'a pod on another node answers');
      const nobody = other.ip.replace(/\.\d+$/, '.250');
      t.same(await pingOnce(toolbox.netns, nobody, 300), { replied: false, detail: 'no reply within 300 ms' }, 'an address no pod holds does not');
      t.equal(await pingOnce(plan.router.netns, other.ip, 300), undefined, 'the router gives no echo socket: verify runs ping there');
    });
  }
}

