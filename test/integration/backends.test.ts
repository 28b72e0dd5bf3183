/**
 * Every pod-network backend on real namespaces: verify passes on each
 * (including the capture that shows how a cross-node packet travels and
 * the MTU checks), and the kernel holds the objects each one promises.
 *  - host-gw: node routes to peer nodes; packets bare on the wire.
 *  - cloud-routes: only the router knows the pod /24s, so a packet takes one
 *    more routed hop and arrives with a lower TTL.
 *  - vxlan: flannel.1 with a neighbour, fdb entry and onlink route per peer.
 *  - udp: flannel0 TUN and a supervised daemon per node; the daemon lowers
 *    the TTL on each crossing like flannel's proxy, comes back when killed, and is gone after down.
 * Then a running lab switches backend and keeps every pod's IP.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { leftovers } from '../helpers/host.js';

const ttlSeen = (lab: string, from: string, ip: string) => {
  const r = cli(['exec', '--name', lab, from, '--', 'ping', '-n', '-c', '1', '-W', '2', ip]);
  return Number(/ttl=(\d+)/.exec(r.stdout)?.[1]);
};

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  const tags: Record<string, string> = { 'host-gw': 'hgw', 'cloud-routes': 'cr', vxlan: 'vx', udp: 'udp' };
  const MTU: Record<string, number> = { 'host-gw': 1500, 'cloud-routes': 1500, vxlan: 1450, udp: 1472 };
  const VIA: Record<string, RegExp> = { 'host-gw': /via host-gw route/, 'cloud-routes': /via router pod route/, vxlan: /via vxlan flannel\.1/, udp: /via udp flannel0 daemon/ };
  const WIRE: Record<string, RegExp> = {
    'host-gw': /^ok \d+ - P3 .* crosses node\d eth0 un-encapsulated/m,
    'cloud-routes': /^ok \d+ - P3 .* crosses node\d eth0 un-encapsulated/m,
    vxlan: /^ok \d+ - P4 .* crosses node\d eth0 inside VXLAN \(UDP 8472, VNI 1\)$/m,
    udp: /^ok \d+ - P4 .* crosses node\d eth0 inside a UDP 8285 datagram$/m,
  };
  // Namespace other admits only its own pods: every backend carries policed traffic, dropped on the receiver's node.
  const ownNamespaceOnly = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: own-namespace, namespace: other}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
`;
  for (const backend of Object.keys(tags)) {
    t.test(backend, async (t) => {
      const lab = labName(tags[backend]!);
      const file = writeLab(tempDir(), lab, smallLab(lab, backend) + ownNamespaceOnly);
      t.teardown(() => {
        cli(['down', '--name', lab]);
      });
      const up = cli(['up', '-f', file]);
      t.equal(up.code, 0, up.stderr);
      const v = cli(['verify', '--name', lab, '--tap']);
      t.equal(v.code, 0, v.stdout);
      t.match(v.stdout, VIA[backend]!);
      t.match(v.stdout, WIRE[backend]!);
      const mtu = MTU[backend]!;
      t.match(v.stdout, new RegExp(`^ok \\d+ - MTU .*: ${mtu - 28}-byte DF ping crosses, ${mtu - 27} is refused`, 'm'));
      t.match(v.stdout, /^ok \d+ - MTU .*a 64 KiB HTTP response arrives whole$/m);
      t.match(v.stdout, /^ok \d+ - P11 \S+ -> other\/\S+ allowed: /m, 'P11: an allowed connection into the isolated namespace');
      t.match(v.stdout, /^ok \d+ - P11 \S+ -> other\/\S+ blocked: other\/\S+ is isolated for ingress by other\/own-namespace/m, 'P11: a blocked one, dropped by the policy');

      const nodeRoutes = cli(['exec', '--name', lab, 'node/node1', '--', 'ip', 'route']).stdout;
      const routerRoutes = cli(['exec', '--name', lab, 'router', '--', 'ip', 'route']).stdout;
      const pods = JSON.parse(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout).items as { metadata: { name: string; namespace: string }; spec: { nodeName: string }; status: { podIP: string } }[];
      const on = (node: string) => pods.find((p) => p.spec.nodeName === node)!;
      const src = `${on('node1').metadata.namespace}/${on('node1').metadata.name}`;
      const ttl = ttlSeen(lab, src, on('node2').status.podIP);
      if (backend === 'vxlan') {
        const link = cli(['exec', '--name', lab, 'node/node1', '--', 'ip', '-d', 'link', 'show', 'flannel.1']).stdout;
        t.match(link, /mtu 1450 /);
        t.match(link, /vxlan id 1 local 192\.168\.56\.11 dev eth0 .*dstport 8472 nolearning/);
        const fdb = cli(['exec', '--name', lab, 'node/node1', '--', 'bridge', 'fdb', 'show', 'dev', 'flannel.1']).stdout;
        t.match(fdb, /dst 192\.168\.56\.12 self permanent/);
        t.match(fdb, /dst 192\.168\.56\.13 self permanent/);
        const neigh = cli(['exec', '--name', lab, 'node/node1', '--', 'ip', 'neigh', 'show', 'dev', 'flannel.1']).stdout;
        t.match(neigh, /^10\.244\.1\.0 lladdr \S+ PERMANENT/m);
        t.match(nodeRoutes, /^10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 onlink/m);
        t.equal(ttl, 62, 'the overlay hides the node network: two routed hops');
      } else if (backend === 'udp') {
        const link = cli(['exec', '--name', lab, 'node/node1', '--', 'ip', '-d', 'link', 'show', 'flannel0']).stdout;
        t.match(link, /mtu 1472 /);
        t.match(link, /tun type tun/);
        t.match(nodeRoutes, /^10\.244\.0\.0\/16 dev flannel0/m);
        t.match(nodeRoutes, /^10\.244\.0\.0\/24 dev cbr0/m, 'the own /24 stays on cbr0');
        t.equal(ttl, 60, 'node1, both daemons (as flannel\'s proxy does) and node2 each lower the TTL');
        t.match(v.stdout, /^ok \d+ - NODE node\/node2 runs daemon overlay-udp\/node2, bound to udp 192\.168\.56\.12:8285/m);

        // Killed, the daemon is restarted by the agent and traffic flows again.
        const before = JSON.parse(cli(['get', 'nodes', '--name', lab, '-o', 'json']).stdout).items as { status: { conditions: { type: string; status: string }[] } }[];
        t.same(before.map((n) => n.status.conditions.find((c) => c.type === 'NetworkUnavailable')?.status), ['False', 'False', 'False']);
        const pids = execFileSync('pgrep', ['-f', `components/udp/main.js /run/kube-netlab/${lab} --name overlay-udp/node2`], { encoding: 'utf8' }).trim().split('\n');
        t.equal(pids.length, 1, 'one daemon for node2');
        process.kill(Number(pids[0]), 'SIGKILL');
        const back = await eventually(() => /^node2\s+Ready/m.test(cli(['get', 'nodes', '--name', lab]).stdout) && ttlSeen(lab, src, on('node2').status.podIP) === 60, { every: 200 });
        t.ok(back, 'node2 is Ready again and pods reach it after the daemon was killed');
        const again = cli(['verify', '--name', lab, '--only', 'CHECK,NODE,P3,P4', '-o', 'json']);
        t.equal(again.code, 0, again.stdout);
        const checks = JSON.parse(again.stdout).checks as { name: string; details: string[] }[];
        const daemon = checks.find((c) => c.name.includes('runs daemon overlay-udp/node2'));
        t.match(daemon?.details.join(' '), /pid \d+, 1 restart\(s\), udp 192\.168\.56\.12:8285 bound/);
      } else if (backend === 'host-gw') {
        t.match(nodeRoutes, /^10\.244\.1\.0\/24 via 192\.168\.56\.12 dev eth0/m);
        t.match(nodeRoutes, /^10\.244\.2\.0\/24 via 192\.168\.56\.13 dev eth0/m);
        t.notMatch(routerRoutes, /10\.244\./);
        t.equal(ttl, 62, 'two routed hops: node1, node2');
      } else {
        t.notMatch(nodeRoutes, /10\.244\.[12]\.0\/24 via/);
        t.match(routerRoutes, /^10\.244\.0\.0\/24 via 192\.168\.56\.11 dev br0/m);
        t.match(routerRoutes, /^10\.244\.1\.0\/24 via 192\.168\.56\.12 dev br0/m);
        t.equal(ttl, 61, 'three routed hops: node1, router, node2');
      }
      t.equal(cli(['down', '--name', lab]).code, 0);
      t.same(leftovers(lab), [], 'no namespace, process (daemons included) or file is left');
    });
  }

  t.test('up with another backend on a running lab keeps every pod IP', async (t) => {
    const lab = labName('sw');
    const dir = tempDir();
    t.teardown(() => {
      cli(['down', '--name', lab]);
    });
    const podIPs = () =>
      (JSON.parse(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout).items as { metadata: { namespace: string; name: string }; spec: { nodeName: string }; status: { podIP: string } }[])
        .map((p) => `${p.metadata.namespace}/${p.metadata.name} ${p.spec.nodeName} ${p.status.podIP}`)
        .sort();
    t.equal(cli(['up', '-f', writeLab(dir, lab, smallLab(lab, 'host-gw'))]).code, 0);
    const first = podIPs();
    t.ok(first.length > 3);
    for (const backend of ['udp', 'vxlan']) {
      const up = cli(['up', '-f', writeLab(dir, lab, smallLab(lab, backend))]);
      t.equal(up.code, 0, up.stderr);
      t.same(podIPs(), first, `${backend}: same pods, nodes and IPs`);
      // The node-to-node paths are what a backend change touches.
      const v = cli(['verify', '--name', lab, '--tap', '--only', 'CHECK,P3,P4']);
      t.equal(v.code, 0, v.stdout);
      t.match(v.stdout, WIRE[backend]!);
    }
    t.equal(cli(['down', '--name', lab]).code, 0);
    t.same(leftovers(lab), []);
  });
}
