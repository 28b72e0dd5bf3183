import t from 'tap';
import { planLab } from '../../../dist/model/plan.js';
import { renderFiles } from '../../../dist/render/files.js';
import { labSpec, pod } from '../../helpers/spec.js';

const filesOf = (pods: Parameters<typeof labSpec>[0]['pods']) => new Map(renderFiles(planLab(labSpec({ namespaces: ['default', 'shop', 'other'], pods }))).map((f) => [f.path, f.content]));
const resolv = (files: Map<string, string>, ns: string, name: string) => files.get(`/etc/netns/t.pod.${ns}.${name}/resolv.conf`);

t.test('resolv.conf per dnsPolicy, as the kubelet writes it', async (t) => {
  const files = filesOf([
    pod('shop', 'first'),
    pod('shop', 'withhost', { dnsPolicy: 'ClusterFirstWithHostNet' }),
    pod('shop', 'plain', { dnsPolicy: 'Default' }),
    pod('shop', 'custom', { dnsPolicy: 'None', dnsConfig: { nameservers: ['10.96.0.10'], searches: ['other.svc.cluster.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }),
  ]);
  const clusterFirst = 'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n';
  t.equal(resolv(files, 'shop', 'first'), clusterFirst);
  t.equal(resolv(files, 'shop', 'withhost'), clusterFirst, 'no hostNetwork: the same as ClusterFirst');
  t.equal(resolv(files, 'shop', 'plain'), 'nameserver 203.0.113.3\n', "Default: the node's resolver, the internet's");
  t.equal(resolv(files, 'shop', 'custom'), 'nameserver 10.96.0.10\nsearch other.svc.cluster.local\noptions ndots:2 edns0\n', 'None: dnsConfig only');
});

t.test('dnsConfig merges into ClusterFirst: appended without repeats, options override by name, at most 3 nameservers', async (t) => {
  const files = filesOf([
    pod('default', 'merged', {
      dnsConfig: {
        nameservers: ['10.96.0.10', '1.1.1.1', '8.8.8.8', '9.9.9.9'],
        searches: ['svc.cluster.local', 'corp.example'],
        options: [{ name: 'ndots', value: '2' }, { name: 'single-request-reopen' }],
      },
    }),
  ]);
  t.equal(
    resolv(files, 'default', 'merged'),
    'nameserver 10.96.0.10\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch default.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:2 single-request-reopen\n',
  );
});

t.test('hosts: hostname and subdomain give the pod its FQDN line', async (t) => {
  const files = filesOf([pod('default', 'db-0', { hostname: 'db-0', subdomain: 'db' }), pod('default', 'lone', { hostname: 'box' })]);
  t.match(files.get('/etc/netns/t.pod.default.db-0/hosts'), /^10\.244\.\d+\.\d+\tdb-0\.db\.default\.svc\.cluster\.local\tdb-0$/m);
  t.match(files.get('/etc/netns/t.pod.default.lone/hosts'), /^10\.244\.\d+\.\d+\tbox$/m);
  t.notMatch(files.get('/etc/netns/t.pod.default.lone/hosts'), /\tlone$/m);
});

t.test('nodes and external clients resolve through the internet resolver', async (t) => {
  const files = filesOf([]);
  t.equal(files.get('/etc/netns/t.node.node1/resolv.conf'), 'nameserver 203.0.113.3\n');
  t.equal(files.get('/etc/netns/t.ext.external/resolv.conf'), 'nameserver 203.0.113.3\n');
});
