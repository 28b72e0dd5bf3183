import t from 'tap';
import { endpointHash, extChain, fwChain, joinHostPort, nftHash, portProtoHash, sepChain, svcChain, svlChain } from '../../../../dist/components/kube-proxy/hash.js';
import { base32 } from '../../../../dist/render/netfilter-text.js';

t.test('base32 follows RFC 4648 (its test vectors)', async (t) => {
  const cases: [string, string][] = [
    ['', ''],
    ['f', 'MY======'],
    ['fo', 'MZXQ===='],
    ['foo', 'MZXW6==='],
    ['foob', 'MZXW6YQ='],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI======'],
  ];
  for (const [input, out] of cases) t.equal(base32(Buffer.from(input)), out, JSON.stringify(input));
  t.equal(base32(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])), '77777777', 'high bits do not leak between groups');
});

t.test('service port chains: the upstream vectors', async (t) => {
  const cases: [string, string, string][] = [
    ['ns1/svc1:p80', 'TCP', 'XPGD46QRK7WJZT7O'],
    ['ns1/svc1', 'TCP', 'AQI2S6QIMU7PVVRP'],
    ['ns2/svc2:p80', 'TCP', 'GNZBNJ2PO5MGZ6GT'],
    ['ns3/svc3:p80', 'TCP', 'X27LE4BHSL4DOUIK'],
    ['ns4/svc4:p80', 'TCP', '4SW47YFZTEDKD3PK'],
    ['ns5/svc5:p80', 'TCP', 'NUKIZ6OKUXPJNT4C'],
    ['default/kubernetes:https', 'TCP', 'NPX46M4PTMTKRN6Y'],
    ['kube-system/kube-dns:dns', 'UDP', 'TCOU7JCQXEZGVUNU'],
    ['kube-system/kube-dns:dns-tcp', 'TCP', 'ERIFXISQEP7F7OF4'],
    ['kube-system/kube-dns:metrics', 'TCP', 'JD5MR3NA4I4DYORP'],
  ];
  for (const [name, proto, hash] of cases) t.equal(portProtoHash(name, proto), hash, `${name} ${proto}`);
  t.equal(portProtoHash('ns1/svc1:p80', 'tcp'), 'XPGD46QRK7WJZT7O', 'the protocol is hashed in lower case whatever its case');
  t.equal(svcChain('ns1/svc1:p80', 'TCP'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  t.equal(svlChain('ns1/svc1', 'TCP'), 'KUBE-SVL-AQI2S6QIMU7PVVRP');
  t.equal(extChain('ns2/svc2:p80', 'TCP'), 'KUBE-EXT-GNZBNJ2PO5MGZ6GT');
  t.equal(fwChain('ns5/svc5:p80', 'TCP'), 'KUBE-FW-NUKIZ6OKUXPJNT4C');
  t.ok(fwChain('ns5/svc5:p80', 'TCP').length <= 28 && sepChain('ns1/svc1', 'TCP', '10.0.1.1:80').length <= 28, 'fits the iptables limit');
});

t.test('endpoint chains: the upstream vectors', async (t) => {
  const cases: [string, string, string][] = [
    ['ns1/svc1:p80', '10.180.0.1:80', 'SXIVWICOYRO3J4NJ'],
    ['ns1/svc1', '10.0.1.1:80', '3JOIVZTXZZRGORX4'],
    ['ns1/svc1', '10.0.1.2:80', 'IO5XOSKPAXIFQXAJ'],
    ['ns1/svc1', '10.0.1.5:80', 'EQCHZ7S2PJ72OHAY'],
    ['ns4/svc4:p80', '10.180.0.4:80', 'UKSFD7AGPMPPLUHC'],
    ['ns4/svc4:p80', '10.180.0.5:80', 'C6EBXVWJJZMIWKLZ'],
    ['ns5/svc5:p80', '10.180.0.3:80', 'I77PXRDZVX7PMWMN'],
  ];
  for (const [name, endpoint, hash] of cases) {
    t.equal(endpointHash(name, 'TCP', endpoint), hash, `${name} ${endpoint}`);
    t.equal(sepChain(name, 'TCP', endpoint), `KUBE-SEP-${hash}`);
  }
});

t.test('endpoints are written as net.JoinHostPort does', async (t) => {
  t.equal(joinHostPort('10.0.1.1', 80), '10.0.1.1:80');
  t.equal(joinHostPort('fd00::1', 80), '[fd00::1]:80');
});

t.test('nftables names: the upstream vectors', async (t) => {
  const cases: [string, string][] = [
    ['ns1/svc1/tcp/p80', 'ULMVA6XW'],
    ['ns1/svc1/tcp/p80__10.180.0.1/80', '5OJB2KTY'],
    ['ns4/svc4/tcp/p80', 'LAUZTJTB'],
    ['ns4/svc4/tcp/p80__10.180.0.4/80', 'UNZV3OEC'],
    ['ns4/svc4/tcp/p80__10.180.0.5/80', '5RFCDDV7'],
    ['ns5/svc5/tcp/p80__10.180.0.3/80', 'GTK6MW7G'],
  ];
  for (const [name, hash] of cases) t.equal(nftHash(name), hash, name);
});
