import t from 'tap';
import { affinitySetName, endpointChainBase, endpointChainName, servicePortChainBase, servicePortChains, type NameMemo } from '../../../../dist/components/kube-proxy/nft-names.js';

const port = (namespace: string, service: string, portName: string, protocol: 'TCP' | 'UDP' = 'TCP') => ({ namespace, service, portName, protocol });

t.test('service port chains: upstream vectors', async (t) => {
  t.same(servicePortChains(port('ns1', 'svc1', 'p80')), {
    service: 'service-ULMVA6XW-ns1/svc1/tcp/p80',
    local: 'local-ULMVA6XW-ns1/svc1/tcp/p80',
    external: 'external-ULMVA6XW-ns1/svc1/tcp/p80',
    firewall: 'firewall-ULMVA6XW-ns1/svc1/tcp/p80',
  });
  t.equal(servicePortChainBase(port('ns2', 'svc2', 'p80')), '42NFTM6N-ns2/svc2/tcp/p80');
  t.equal(servicePortChainBase(port('ns3', 'svc3', 'p80')), '4AT6LBPK-ns3/svc3/tcp/p80');
  t.equal(servicePortChainBase(port('ns4', 'svc4', 'p80')), 'LAUZTJTB-ns4/svc4/tcp/p80');
  t.equal(servicePortChainBase(port('ns5', 'svc5', 'p80')), 'HVFWP5L3-ns5/svc5/tcp/p80');
  t.equal(servicePortChainBase(port('endpointslice-3291', 'example-named-port', 'http')), 'QZNVUP4F-endpointslice-3291/example-named-port/tcp/http');
});

t.test('endpoint chains and affinity sets: upstream vectors', async (t) => {
  const ns1 = port('ns1', 'svc1', 'p80');
  t.equal(endpointChainName(ns1, { ip: '10.180.0.1', port: 80 }), 'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  t.equal(affinitySetName(ns1, { ip: '10.180.0.1', port: 80 }), 'affinity-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  t.equal(endpointChainBase(port('ns4', 'svc4', 'p80'), { ip: '10.180.0.4', port: 80 }), 'UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80');
  t.equal(endpointChainBase(port('ns4', 'svc4', 'p80'), { ip: '10.180.0.5', port: 80 }), '5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80');
  t.equal(endpointChainBase(port('ns5', 'svc5', 'p80'), { ip: '10.180.0.3', port: 80 }), 'GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80');
  t.equal(endpointChainBase(port('endpointslice-3291', 'example-named-port', 'http'), { ip: '10.244.2.28', port: 3001 }), 'A6Z5NSSV-endpointslice-3291/example-named-port/tcp/http__10.244.2.28/3001');
});

t.test('an unnamed port leaves the port part empty, as upstream does', async (t) => {
  t.equal(endpointChainName(port('services-4884', 'service-proxy-toggled', ''), { ip: '10.244.1.180', port: 9376 }), 'endpoint-LR2XJHKW-services-4884/service-proxy-toggled/tcp/__10.244.1.180/9376');
  t.equal(endpointChainName(port('services-4440', 'externalsvc', ''), { ip: '10.244.1.80', port: 9376 }), 'endpoint-EVHUKXWZ-services-4440/externalsvc/tcp/__10.244.1.80/9376');
  t.equal(servicePortChains(port('default', 'web', '', 'UDP')).service.split('-').slice(2).join('-'), 'default/web/udp/');
});

t.test('IPv6 endpoint colons become dots', async (t) => {
  const ns1 = port('ns1', 'svc1', 'p80');
  t.equal(endpointChainName(ns1, { ip: 'fd00:10:180::2:1', port: 80 }), 'endpoint-2CRNCTTE-ns1/svc1/tcp/p80__fd00.10.180..2.1/80');
  t.equal(endpointChainName(ns1, { ip: 'fd00:10:180::1', port: 80 }), 'endpoint-ZVRFLKHO-ns1/svc1/tcp/p80__fd00.10.180..1/80');
});

t.test('names too long for the kernel are cut to 240 characters after the prefix, ending in ...', async (t) => {
  const long = port('a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63));
  const base = endpointChainBase(long, { ip: '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff', port: 65535 });
  t.equal(base.length, 240);
  t.ok(base.endsWith('...'));
  t.equal(servicePortChainBase(long), `${servicePortChainBase(long).slice(0, 8)}-${'a'.repeat(63)}/${'b'.repeat(63)}/tcp/${'c'.repeat(63)}`, 'a service port name always fits');
});

t.test('the same input always gives the same name', async (t) => {
  const ns1 = port('ns1', 'svc1', 'p80');
  t.equal(servicePortChainBase(ns1), servicePortChainBase({ ...ns1 }));
  t.not(endpointChainBase(ns1, { ip: '10.0.0.1', port: 80 }), endpointChainBase(ns1, { ip: '10.0.0.1', port: 81 }));
});

t.test('a memo gives the same names, and holds only what its own caller asked for', async (t) => {
  const ns1 = port('ns1', 'svc1', 'p80');
  const ep = { ip: '10.180.0.1', port: 80 };
  const mine: NameMemo = new Map();
  const other: NameMemo = new Map();
  t.same(servicePortChains(ns1, mine), servicePortChains(ns1));
  t.equal(endpointChainName(ns1, ep, mine), endpointChainName(ns1, ep));
  t.equal(affinitySetName(ns1, ep, mine), 'affinity-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80', 'a second lookup, from the memo, is the same');
  t.same([...mine.keys()], ['ns1/svc1/tcp/p80', 'ns1/svc1/tcp/p80__10.180.0.1/80']);
  t.equal(other.size, 0, 'another memo sees none of it');
  t.equal(servicePortChainBase(ns1, other), servicePortChainBase(ns1, mine));
  t.equal(other.size, 1);
});
