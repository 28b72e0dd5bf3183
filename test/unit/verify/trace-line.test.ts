/** A failed check's probe as the `kube-netlab trace` command that follows it. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseLab } from '../../../dist/config/index.js';
import { planLab } from '../../../dist/model/plan.js';
import { traceLine } from '../../../dist/verify/trace-line.js';

t.test('service, UDP, refused and ingress probes; none for probes without one destination', async (t) => {
  const from = { netns: 'demo.pod.default.web-x', label: 'default/web-x' };
  t.equal(traceLine('demo', { kind: 'refused', from, ip: '10.96.0.11', port: 80 }), 'kube-netlab trace default/web-x 10.96.0.11 --port 80 --name demo');
  t.equal(traceLine('demo', { kind: 'udp-echo', from, ip: '10.96.0.10', port: 53 }), 'kube-netlab trace default/web-x 10.96.0.10 --port 53 --udp --name demo');
  t.equal(traceLine('demo', { kind: 'connect', from, ip: '10.244.1.4', port: 8080, protocol: 'UDP', expect: 'allowed' }), 'kube-netlab trace default/web-x 10.244.1.4 --port 8080 --udp --name demo');
  t.equal(
    traceLine('demo', { kind: 'ingress', from: { netns: 'demo.ext.external', label: 'external' }, scheme: 'https', ip: '203.0.113.193', port: 443, host: 'shop.example.com', path: '/api', expect: { status: 200 } }),
    'kube-netlab trace external https://shop.example.com/api --name demo',
  );
  t.equal(
    traceLine('demo', { kind: 'ingress', from, scheme: 'http', ip: '203.0.113.193', port: 8080, host: 'a.example.com', path: "/it's", expect: { status: 200 } }),
    `kube-netlab trace default/web-x 'http://a.example.com/it'\\''s' --port 8080 --name demo`,
    'quoted for a shell where needed',
  );
  t.equal(traceLine('demo', { kind: 'file', netns: 'x', label: 'x', path: '/etc/resolv.conf', content: '' }), undefined);
});

t.test('dns probes: the lookup from the pod (its key, not its check label), with trace\'s search list or as an absolute name', async (t) => {
  const from = { netns: 'demo.pod.default.toolbox', label: 'pod default/toolbox' };
  const dns = (name: string, opts: { type?: 'A' | 'SRV' | 'PTR' | 'TXT' | 'CNAME'; search?: boolean; tcp?: boolean } = {}) =>
    ({ kind: 'dns' as const, from, name, type: opts.type ?? 'A', search: opts.search ?? false, tcp: opts.tcp ?? false, expect: { rcode: 'NOERROR' as const } });
  t.equal(traceLine('demo', dns('web.default', { search: true })), 'kube-netlab trace default/toolbox web.default --name demo');
  t.equal(traceLine('demo', dns('web.default.svc.cluster.local')), 'kube-netlab trace default/toolbox web.default.svc.cluster.local. --name demo', 'asked without the search list: the name as written');
  t.equal(traceLine('demo', dns('legacy.example.net')), 'kube-netlab trace default/toolbox legacy.example.net. --name demo', 'an external server\'s name is looked up, not connected to');
  t.equal(traceLine('demo', dns('legacy.default.svc.cluster.local', { type: 'CNAME' })), 'kube-netlab trace default/toolbox legacy.default.svc.cluster.local. --name demo', 'an A lookup of a CNAME follows it');
  t.equal(traceLine('demo', { ...dns('web.default'), from: { netns: 'x', label: 'default/toolbox' } }), 'kube-netlab trace default/toolbox web.default. --name demo', 'a source labelled with its key alone');
  t.equal(traceLine('demo', dns('web', { search: true })), undefined, 'a short name trace would take for a pod');
  t.equal(traceLine('demo', dns('_http._tcp.web.default.svc.cluster.local', { type: 'SRV' })), undefined, 'trace asks for A records only');
  t.equal(traceLine('demo', dns('11.0.96.10.in-addr.arpa', { type: 'PTR' })), undefined);
  t.equal(traceLine('demo', dns('dns-version.cluster.local', { type: 'TXT' })), undefined);
  t.equal(traceLine('demo', dns('kube-dns.kube-system.svc.cluster.local', { tcp: true })), undefined, 'trace asks over UDP');
});

t.test('ping probes: a connection to the pinged pod\'s first TCP port (trace sends no ICMP); none to a node', async (t) => {
  const plan = planLab(parseLab([{ file: 'lab.yaml', text: readFileSync(new URL('../../fixtures/graph/lab.yaml', import.meta.url), 'utf8') }]));
  const web = plan.pods.find((p) => p.labels.app === 'web')!;
  const dns = plan.pods.find((p) => p.namespace === 'kube-system')!;
  const node = plan.nodes[1]!;
  const pod = { netns: 'pic.pod.default.other', label: 'default/other' };
  const nodeEnd = { netns: node.netns, label: `node/${node.name}` };
  t.equal(traceLine('pic', { kind: 'ping', from: pod, ip: web.ip }, plan), `kube-netlab trace default/other ${web.ip} --port 8080 --name pic`);
  t.equal(traceLine('pic', { kind: 'ping', from: nodeEnd, ip: web.ip }, plan), `kube-netlab trace node/${node.name} ${web.ip} --port 8080 --name pic`, 'from a node');
  t.equal(traceLine('pic', { kind: 'ping', from: pod, ip: dns.ip, waitSeconds: 1 }, plan), `kube-netlab trace default/other ${dns.ip} --port 53 --name pic`, 'the first TCP port, after a UDP one');
  t.equal(traceLine('pic', { kind: 'ping', from: pod, ip: node.ip }, plan), undefined, 'a node: trace needs a port nothing is known to listen on');
  t.equal(traceLine('pic', { kind: 'ping', from: pod, ip: '203.0.113.50' }, plan), undefined, 'not a pod of the lab');
  const portless = { ...plan, pods: plan.pods.map((p) => (p === web ? { ...p, containers: p.containers.map((c) => ({ ...c, ports: [] })) } : p)) };
  t.equal(traceLine('pic', { kind: 'ping', from: pod, ip: web.ip }, portless), undefined, 'a pod without a TCP port');
});

t.test('ping probes without the plan: no line (verify always passes it)', async (t) => {
  t.equal(traceLine('pic', { kind: 'ping' as const, from: { netns: 'x', label: 'node/node1' }, ip: '10.244.0.2' }), undefined);
});
