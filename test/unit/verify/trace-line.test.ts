/** A failed check's probe as the `kube-netlab trace` command that follows it. */
import t from 'tap';
import { traceLine } from '../../../src/verify/trace-line.js';

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
