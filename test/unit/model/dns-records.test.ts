import t from 'tap';
import { clusterDnsData, resolverData } from '../../../dist/model/dns-records.js';
import { planLab } from '../../../dist/model/plan.js';
import type { ServiceSpec } from '../../../dist/spec/services.js';
import { labSpec, pod, service as namedService } from '../../helpers/spec.js';

/** Services here select the `app: web` pods whatever their name. */
const service = (namespace: string, name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec => namedService(namespace, name, { selector: { app: 'web' }, ...extra });

const web = (name: string, extra = {}) => pod('default', name, { labels: { app: 'web' }, ...extra });
const plan = planLab(
  labSpec({
    namespaces: ['default', 'other'],
    pods: [web('w0', { hostname: 'w0', subdomain: 'peers' }), web('w1'), web('w2', { hostname: 'elsewhere', subdomain: 'web' })],
    services: [
      service('default', 'web', { ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }, { protocol: 'UDP', port: 53, targetPort: 8080 }] }),
      service('default', 'peers', { clusterIP: 'None' }),
      service('default', 'late', { clusterIP: 'None', publishNotReadyAddresses: true }),
      service('other', 'ext', { type: 'ExternalName', externalName: 'legacy.example.net.', selector: undefined, ports: [] }),
    ],
    external: { cidr: '203.0.113.0/24', servers: [{ name: 'Legacy.Example.NET', address: '203.0.113.50', ports: [80] }] },
  }),
);
const ip = (name: string) => plan.pods.find((p) => p.name === name)!.ip;
const notW1 = (key: string) => key !== 'default/w1';

t.test('cluster data: every service with its ready endpoints, hostnames where the subdomain names the service', async (t) => {
  const data = clusterDnsData(plan, notW1, 7);
  t.equal(data.ttl, 30, "kubeadm's ttl 30");
  t.equal(data.serial, 7);
  t.same(data.upstream, [plan.internet.resolver.ip], 'forwards to the internet resolver');
  t.same(data.hosts, []);
  const zone = data.cluster!;
  t.equal(zone.domain, 'cluster.local');
  t.same(zone.namespaces, ['default', 'kube-system', 'other']);
  t.same(zone.reverseCidrs, ['10.96.0.0/12', '10.244.0.0/16']);
  const svc = (name: string) => zone.services.find((s) => s.name === name)!;
  t.same(svc('web'), {
    namespace: 'default',
    name: 'web',
    kind: 'ClusterIP',
    clusterIP: plan.services.find((s) => s.name === 'web')!.clusterIP,
    ports: [
      { name: 'http', protocol: 'TCP', port: 80 },
      { name: '', protocol: 'UDP', port: 53 },
    ],
    endpoints: [ip('w0'), ip('w2')].map((a) => ({
      ip: a,
      ...(a === ip('w2') ? { hostname: 'elsewhere' } : {}),
      ports: [
        { name: 'http', protocol: 'TCP', port: 8080 },
        { name: '', protocol: 'UDP', port: 8080 },
      ],
    })),
  });
  t.same(svc('peers').kind, 'Headless');
  t.notOk('clusterIP' in svc('peers'));
  t.same(svc('peers').endpoints.map((e) => [e.ip, e.hostname]), [[ip('w0'), 'w0'], [ip('w2'), undefined]], 'w1 is not ready; w2 names another subdomain');
  t.same(svc('late').endpoints.map((e) => e.ip), [ip('w0'), ip('w1'), ip('w2')], 'publishNotReadyAddresses publishes not-ready pods');
  t.same(svc('ext'), { namespace: 'other', name: 'ext', kind: 'ExternalName', externalName: 'legacy.example.net', ports: [], endpoints: [] });
  t.same(svc('kube-dns').clusterIP, '10.96.0.10');
  t.same(svc('kubernetes').endpoints.map((e) => e.ip), [plan.nodes[0]!.ip], 'the API server stand-in');
});

t.test('a readiness change changes the data', async (t) => {
  const before = clusterDnsData(plan, notW1, 1);
  const after = clusterDnsData(plan, () => true, 1);
  t.not(JSON.stringify(before), JSON.stringify(after));
  t.equal(after.cluster!.services.find((s) => s.name === 'peers')!.endpoints.length, 3);
});

t.test('resolver data: the external servers by lower-case name, nothing forwarded', async (t) => {
  t.same(resolverData(plan, 3), { ttl: 30, serial: 3, hosts: [{ name: 'legacy.example.net', addresses: ['203.0.113.50'] }], upstream: [] });
});
