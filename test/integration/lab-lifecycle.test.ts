/**
 * The whole life of a lab on real namespaces: the root namespace is the same
 * before `up` and after `down`, every verify check passes, pods look like
 * pods (hostname, resolv.conf, IP), a killed container comes back without
 * its pod losing IP or pause process, `up` again keeps IPs, `down` leaves
 * nothing.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';
import { leftovers, rootSnapshot } from '../helpers/host.js';
import { eventually } from '../helpers/eventually.js';

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  const lab = labName('life');
  const file = writeLab(tempDir(), lab, smallLab(lab));
  t.teardown(() => {
    cli(['down', '--name', lab]);
  });

  const before = rootSnapshot();

  t.test('up builds the lab', async (t) => {
    const r = cli(['up', '-f', file]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /is up/);
  });

  t.test('verify passes every path check, in TAP and JSON', async (t) => {
    const tap = cli(['verify', '--name', lab, '--tap']);
    t.equal(tap.code, 0, tap.stdout + tap.stderr);
    t.match(tap.stdout, /^TAP version 14$/m);
    t.notMatch(tap.stdout, /^not ok/m);
    for (const path of ['P1', 'P2', 'P3', 'NODE', 'P13']) t.match(tap.stdout, new RegExp(`^ok \\d+ - ${path} `, 'm'), `${path} checked`);
    t.match(tap.stdout, /P3 pod \S+ \(node1\) -> \S+ \(node2\) via host-gw route/);

    const json = JSON.parse(cli(['verify', '--name', lab, '-o', 'json']).stdout);
    t.equal(json.failed, 0);
    t.ok(json.passed >= 15, `${json.passed} checks`);
    const junitFile = `${tempDir()}/junit.xml`;
    t.equal(cli(['verify', '--name', lab, '--junit', junitFile]).code, 0);
    t.match(readFileSync(junitFile, 'utf8'), /<testsuite name="[^"]+" tests="\d+" failures="0"/);
  });

  t.test('get pods -o json is kubectl-shaped', async (t) => {
    const r = cli(['get', 'pods', '--name', lab, '-o', 'json']);
    t.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    t.equal(list.kind, 'List');
    const byNamespace = (ns: string) => list.items.filter((p: { metadata: { namespace: string } }) => p.metadata.namespace === ns).length;
    t.equal(list.items.length - byNamespace('kube-system'), 5, "the file's 5 pods, across namespaces");
    t.equal(byNamespace('kube-system'), 2, 'and the 2 cluster DNS pods');
    const duo = list.items.find((p: { metadata: { name: string } }) => p.metadata.name === 'duo');
    t.equal(duo.metadata.namespace, 'other');
    t.equal(duo.spec.nodeName, 'node2');
    t.match(duo.status.podIP, /^10\.244\.1\.\d+$/);
    t.same(duo.status.containerStatuses.map((c: { ready: boolean }) => c.ready), [true, true]);
    const nodes = JSON.parse(cli(['get', 'nodes', '--name', lab, '-o', 'json']).stdout);
    t.same(nodes.items.map((n: { spec: { podCIDR: string } }) => n.spec.podCIDR), ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
    t.equal(nodes.items[0].status.addresses[0].address, '192.168.56.11');
    const table = cli(['get', 'pods', '--name', lab, '-o', 'wide']);
    t.match(table.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE$/m);
    t.match(table.stdout, /^other\s+duo\s+2\/2\s+Running\s+0\s+/m);
  });

  t.test('exec: hostname is the pod name, resolv.conf and hosts are the pod\'s, exit codes pass through', async (t) => {
    const host = cli(['exec', '--name', lab, 'other/duo', '--', 'hostname']);
    t.equal(host.code, 0, host.stderr);
    t.equal(host.stdout.trim(), 'duo');
    const node = cli(['exec', '--name', lab, 'node/node3', '--', 'hostname']);
    t.equal(node.stdout.trim(), 'node3');
    const resolv = cli(['exec', '--name', lab, 'duo', '--', 'cat', '/etc/resolv.conf']);
    t.match(resolv.stdout, /^search other\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
    t.match(resolv.stdout, /^nameserver 10\.96\.0\.10$/m);
    const hosts = cli(['exec', '--name', lab, 'duo', '--', 'cat', '/etc/hosts']);
    t.match(hosts.stdout, /^10\.244\.1\.\d+\tduo$/m);
    const addr = cli(['exec', '--name', lab, 'duo', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    t.match(addr.stdout, /inet 10\.244\.1\.\d+\/24/);
    t.equal(cli(['exec', '--name', lab, 'external', '--', 'sh', '-c', 'exit 7']).code, 7);
    const bad = cli(['exec', '--name', lab, 'nope', '--', 'true']);
    t.equal(bad.code, 2);
    t.match(bad.stderr, /no pod, node or external host 'nope'/);
  });

  t.test('a killed container restarts; the pod keeps its namespace, IP and pause process', async (t) => {
    const podBefore = JSON.parse(cli(['get', 'pods', '--name', lab, '-n', 'other', '-o', 'json']).stdout).items.find((p: { metadata: { name: string } }) => p.metadata.name === 'duo');
    const holders = JSON.parse(readFileSync(`/run/kube-netlab/${lab}/holders.json`, 'utf8'));
    const pause = holders[`${lab}.pod.other.duo`];
    t.ok(pause, 'pause process recorded');
    const r = cli(['fault', '--name', lab, 'kill-container', 'other/duo', '-c', 'right']);
    t.equal(r.code, 0, r.stderr);
    // Straight into the pod's namespace: the agent restarts the container after 1 s.
    const inPod = (port: number) =>
      spawnSync('nsenter', [`--net=/run/netns/${lab}.pod.other.duo`, '--', 'curl', '-sS', '--max-time', '1', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
    const refused = inPod(7002);
    t.not(refused.status, 0, 'the killed container no longer answers');
    t.match(refused.stderr, /Connection refused|Couldn't connect/);
    t.equal(inPod(7001).status, 0, 'the other container is untouched');
    // The timeout only stops a hang; the assertion is that it comes back.
    const back = await eventually(() => cli(['exec', '--name', lab, 'other/duo', '--', 'curl', '-sS', '--max-time', '1', 'http://127.0.0.1:7002/']).code === 0, { every: 250, timeout: 60_000 });
    t.ok(back, 'the container was restarted');
    const podAfter = JSON.parse(cli(['get', 'pods', '--name', lab, '-n', 'other', '-o', 'json']).stdout).items.find((p: { metadata: { name: string } }) => p.metadata.name === 'duo');
    t.equal(podAfter.status.podIP, podBefore.status.podIP);
    t.equal(podAfter.status.containerStatuses.find((c: { name: string }) => c.name === 'right').restartCount, 1);
    t.equal(JSON.parse(readFileSync(`/run/kube-netlab/${lab}/holders.json`, 'utf8'))[`${lab}.pod.other.duo`], pause);
    t.match(readFileSync(`/proc/${pause}/comm`, 'utf8'), /^sleep/);
  });

  t.test('up on a running lab rebuilds it and keeps pod IPs', async (t) => {
    const ips = (out: string) => JSON.parse(out).items.map((p: { metadata: { name: string }; status: { podIP: string } }) => `${p.metadata.name}=${p.status.podIP}`).sort();
    const before = ips(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout);
    const r = cli(['up', '-f', file]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /rebuilding/);
    t.same(ips(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout), before);
    t.equal(cli(['verify', '--name', lab]).code, 0);
  });

  t.test('down removes everything and the root namespace is as it was', async (t) => {
    const r = cli(['down', '--name', lab]);
    t.equal(r.code, 0, r.stderr);
    t.same(leftovers(lab), []);
    t.same(rootSnapshot(), before);
    t.equal(cli(['down', '--name', lab]).code, 0, 'down is idempotent');
  });
}
