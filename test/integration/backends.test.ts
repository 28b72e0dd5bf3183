/**
 * The routed backends on real namespaces: verify passes on each, and the
 * kernel holds the routes each one promises (host-gw: node routes to peer
 * nodes; cloud-routes: only the router knows the pod /24s, so a packet takes
 * one more routed hop and arrives with a lower TTL).
 */
import t from 'tap';
import { cli, isRoot, labName, smallLab, tempDir, writeLab } from '../helpers/cli.js';
import { leftovers } from '../helpers/host.js';

const ttlSeen = (lab: string, from: string, ip: string) => {
  const r = cli(['exec', '--name', lab, from, '--', 'ping', '-n', '-c', '1', '-W', '2', ip]);
  return Number(/ttl=(\d+)/.exec(r.stdout)?.[1]);
};

if (!isRoot) {
  t.skip('integration tests need root (network namespaces)');
} else {
  for (const backend of ['host-gw', 'cloud-routes']) {
    t.test(backend, async (t) => {
      const lab = labName(backend === 'host-gw' ? 'hgw' : 'cr');
      const file = writeLab(tempDir(), lab, smallLab(lab, backend));
      t.teardown(() => {
        cli(['down', '--name', lab]);
      });
      const up = cli(['up', '-f', file]);
      t.equal(up.code, 0, up.stderr);
      const v = cli(['verify', '--name', lab, '--tap']);
      t.equal(v.code, 0, v.stdout);
      t.match(v.stdout, backend === 'host-gw' ? /via host-gw route/ : /via router pod route/);

      const nodeRoutes = cli(['exec', '--name', lab, 'node/node1', '--', 'ip', 'route']).stdout;
      const routerRoutes = cli(['exec', '--name', lab, 'router', '--', 'ip', 'route']).stdout;
      const pods = JSON.parse(cli(['get', 'pods', '--name', lab, '-o', 'json']).stdout).items as { metadata: { name: string; namespace: string }; spec: { nodeName: string }; status: { podIP: string } }[];
      const on = (node: string) => pods.find((p) => p.spec.nodeName === node)!;
      const src = `${on('node1').metadata.namespace}/${on('node1').metadata.name}`;
      const ttl = ttlSeen(lab, src, on('node2').status.podIP);
      if (backend === 'host-gw') {
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
      t.same(leftovers(lab), []);
    });
  }
}
