import t from 'tap';
import type { ProxyEndpoint, ProxyNodeInput, ProxyServicePort } from '../../../../dist/model/services.js';
import {
  IptablesMemo,
  iptablesChainsOf,
  iptablesProbability,
  LARGE_CLUSTER_ENDPOINTS,
  renderIptablesBootstrap,
  renderIptablesSync,
} from '../../../../dist/components/kube-proxy/iptables.js';

// ---- fixture: the services of kube-proxy's own tests, so every hash below is a verified one ----

/** `isLocal` is set by `forNode` for the node rendered. */
const ep = (ip: string, port: number, nodeName: string): ProxyEndpoint => ({ ip, port, nodeName, isLocal: false });

function port(p: Partial<ProxyServicePort> & Pick<ProxyServicePort, 'namespace' | 'service' | 'clusterIP'>): ProxyServicePort {
  return { portName: 'p80', protocol: 'TCP', port: 80, loadBalancerIPs: [], externalPolicyLocal: false, internalPolicyLocal: false, endpoints: [], ...p };
}

function forNode(node: string, services: ProxyServicePort[]): ProxyNodeInput {
  return {
    node,
    nodeIP: '192.168.56.11',
    clusterCIDR: '10.0.0.0/8',
    masqueradeBit: 14,
    services: services.map((sp) => ({ ...sp, endpoints: sp.endpoints.map((e) => ({ ...e, isLocal: e.nodeName === node })) })),
  };
}

function fixtureServices(): ProxyServicePort[] {
  return [
    // Named port, UDP.
    port({ namespace: 'kube-system', service: 'kube-dns', portName: 'dns', protocol: 'UDP', clusterIP: '172.30.0.10', port: 53, endpoints: [ep('10.180.0.10', 53, 'node2')] }),
    // Unnamed port, 3 endpoints, ClientIP affinity.
    port({
      namespace: 'ns1',
      service: 'svc1',
      portName: '',
      clusterIP: '172.30.0.41',
      affinityTimeoutSeconds: 10800,
      endpoints: [ep('10.0.1.1', 80, 'node1'), ep('10.0.1.2', 80, 'node2'), ep('10.0.1.5', 80, 'node3')],
    }),
    // NodePort, externalTrafficPolicy Cluster.
    port({ namespace: 'ns2', service: 'svc2', clusterIP: '172.30.0.42', nodePort: 30002, endpoints: [ep('10.180.0.2', 80, 'node2')] }),
    // NodePort without any endpoint.
    port({ namespace: 'ns3', service: 'svc3', clusterIP: '172.30.0.43', nodePort: 30003 }),
    // NodePort, externalTrafficPolicy Local: an endpoint on node1 and one on node2, none on node3.
    port({
      namespace: 'ns4',
      service: 'svc4',
      clusterIP: '172.30.0.44',
      nodePort: 30004,
      externalPolicyLocal: true,
      healthCheckNodePort: 30404,
      endpoints: [ep('10.180.0.4', 80, 'node1'), ep('10.180.0.5', 80, 'node2')],
    }),
    // internalTrafficPolicy Local, its only endpoint on node2.
    port({ namespace: 'ns5', service: 'svc5', clusterIP: '172.30.0.45', internalPolicyLocal: true, endpoints: [ep('10.180.0.3', 80, 'node2')] }),
  ];
}

const fixture = (node = 'node1') => forNode(node, fixtureServices());

// ---- a tiny iptables-restore --noflush: tables of chains of rules ----

type State = Map<string, Map<string, string[]>>;

const BUILTIN: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};
const TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'MARK', 'MASQUERADE', 'DNAT']);

const jumpOf = (rule: string) => / -j (\S+)/.exec(` ${rule}`)?.[1];

/**
 * Applies `text` to `state` as `iptables-restore --noflush` would: a chain
 * line creates or flushes the chain, other chains keep their rules, a table
 * is committed whole or not at all. Throws where iptables would refuse.
 */
function restore(state: State, text: string): void {
  let table = '';
  let chains = new Map<string, string[]>();
  let declared = new Set<string>();
  text.split('\n').forEach((line, i) => {
    const fail = (why: string) => {
      throw new Error(`line ${i + 1} (${line}): ${why}`);
    };
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      table = line.slice(1);
      const current = state.get(table) ?? new Map((BUILTIN[table] ?? []).map((c) => [c, []]));
      chains = new Map([...current].map(([c, rules]) => [c, [...rules]]));
      declared = new Set();
      return;
    }
    if (line === 'COMMIT') {
      for (const [chain, rules] of chains) {
        for (const rule of rules) {
          const target = jumpOf(rule);
          if (target && !TARGETS.has(target) && !chains.has(target)) fail(`${chain} jumps to missing ${target}`);
        }
      }
      state.set(table, chains);
      return;
    }
    if (line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0] ?? '';
      if (declared.has(chain)) fail('chain declared twice');
      declared.add(chain);
      chains.set(chain, []);
      return;
    }
    const m = /^-([AIX]) (\S+)(?: (.*))?$/.exec(line);
    if (!m) return fail('not understood');
    const [, op, chain = '', rule = ''] = m;
    const rules = chains.get(chain);
    if (!rules) return fail('no such chain');
    if (op === 'A') rules.push(rule);
    else if (op === 'I') rules.unshift(rule);
    else {
      if (rules.length > 0) fail('chain not empty');
      if ([...chains.values()].some((rs) => rs.some((r) => jumpOf(r) === chain))) fail('chain still referenced');
      chains.delete(chain);
    }
  });
}

const applied = (...texts: string[]): State => {
  const state: State = new Map();
  for (const text of texts) restore(state, text);
  return state;
};

/** State as plain sorted objects, for comparison. */
const plain = (state: State) =>
  Object.fromEntries([...state].sort().map(([table, chains]) => [table, Object.fromEntries([...chains].sort(([a], [b]) => a.localeCompare(b)))]));

const chain = (text: string, table: string, name: string) => applied(text).get(table)?.get(name);
const declaredChains = (text: string, table: string) => {
  const block = text.split(`*${table}\n`)[1]?.split('COMMIT')[0] ?? '';
  return block.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);
};

// ---- expected text ----

const FULL_NODE1 = `*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
-A KUBE-SERVICES -d 172.30.0.43/32 -p tcp -m comment --comment "ns3/svc3:p80 has no endpoints" -m tcp --dport 80 -j REJECT
-A KUBE-SERVICES -d 172.30.0.45/32 -p tcp -m comment --comment "ns5/svc5:p80 has no local endpoints" -m tcp --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "ns3/svc3:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30003 -j REJECT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODEPORTS -p tcp -m comment --comment "ns4/svc4:p80 health check node port" -m tcp --dport 30404 -j ACCEPT
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-7LGUAWRXVTFPVIGM - [0:0]
:KUBE-SVC-AQI2S6QIMU7PVVRP - [0:0]
:KUBE-SEP-3JOIVZTXZZRGORX4 - [0:0]
:KUBE-SEP-IO5XOSKPAXIFQXAJ - [0:0]
:KUBE-SEP-EQCHZ7S2PJ72OHAY - [0:0]
:KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
:KUBE-EXT-4SW47YFZTEDKD3PK - [0:0]
:KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
:KUBE-SVL-4SW47YFZTEDKD3PK - [0:0]
:KUBE-SEP-UKSFD7AGPMPPLUHC - [0:0]
:KUBE-SEP-C6EBXVWJJZMIWKLZ - [0:0]
-A KUBE-SERVICES -d 172.30.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1 cluster IP" -m tcp --dport 80 -j KUBE-SVC-AQI2S6QIMU7PVVRP
-A KUBE-SERVICES -d 172.30.0.42/32 -p tcp -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -d 172.30.0.44/32 -p tcp -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment "ns2/svc2:p80" -m tcp --dport 30002 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -p tcp -m comment --comment "ns4/svc4:p80" -m tcp --dport 30004 -j KUBE-EXT-4SW47YFZTEDKD3PK
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SVC-TCOU7JCQXEZGVUNU ! -s 10.0.0.0/8 -d 172.30.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.180.0.10:53" -j KUBE-SEP-7LGUAWRXVTFPVIGM
-A KUBE-SEP-7LGUAWRXVTFPVIGM -s 10.180.0.10/32 -m comment --comment "kube-system/kube-dns:dns" -j KUBE-MARK-MASQ
-A KUBE-SEP-7LGUAWRXVTFPVIGM -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination 10.180.0.10:53
-A KUBE-SVC-AQI2S6QIMU7PVVRP ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m recent --name KUBE-SEP-3JOIVZTXZZRGORX4 --rcheck --seconds 10800 --reap -j KUBE-SEP-3JOIVZTXZZRGORX4
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m recent --name KUBE-SEP-IO5XOSKPAXIFQXAJ --rcheck --seconds 10800 --reap -j KUBE-SEP-IO5XOSKPAXIFQXAJ
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.5:80" -m recent --name KUBE-SEP-EQCHZ7S2PJ72OHAY --rcheck --seconds 10800 --reap -j KUBE-SEP-EQCHZ7S2PJ72OHAY
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-3JOIVZTXZZRGORX4
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-IO5XOSKPAXIFQXAJ
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.5:80" -j KUBE-SEP-EQCHZ7S2PJ72OHAY
-A KUBE-SEP-3JOIVZTXZZRGORX4 -s 10.0.1.1/32 -m comment --comment "ns1/svc1" -j KUBE-MARK-MASQ
-A KUBE-SEP-3JOIVZTXZZRGORX4 -p tcp -m comment --comment "ns1/svc1" -m recent --name KUBE-SEP-3JOIVZTXZZRGORX4 --set -m tcp -j DNAT --to-destination 10.0.1.1:80
-A KUBE-SEP-IO5XOSKPAXIFQXAJ -s 10.0.1.2/32 -m comment --comment "ns1/svc1" -j KUBE-MARK-MASQ
-A KUBE-SEP-IO5XOSKPAXIFQXAJ -p tcp -m comment --comment "ns1/svc1" -m recent --name KUBE-SEP-IO5XOSKPAXIFQXAJ --set -m tcp -j DNAT --to-destination 10.0.1.2:80
-A KUBE-SEP-EQCHZ7S2PJ72OHAY -s 10.0.1.5/32 -m comment --comment "ns1/svc1" -j KUBE-MARK-MASQ
-A KUBE-SEP-EQCHZ7S2PJ72OHAY -p tcp -m comment --comment "ns1/svc1" -m recent --name KUBE-SEP-EQCHZ7S2PJ72OHAY --set -m tcp -j DNAT --to-destination 10.0.1.5:80
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade traffic for ns2/svc2:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT ! -s 10.0.0.0/8 -d 172.30.0.42/32 -p tcp -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -s 10.180.0.2/32 -m comment --comment "ns2/svc2:p80" -j KUBE-MARK-MASQ
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -p tcp -m comment --comment "ns2/svc2:p80" -m tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-EXT-4SW47YFZTEDKD3PK -s 10.0.0.0/8 -m comment --comment "pod traffic for ns4/svc4:p80 external destinations" -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade LOCAL traffic for ns4/svc4:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "route LOCAL traffic for ns4/svc4:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVL-4SW47YFZTEDKD3PK
-A KUBE-SVC-4SW47YFZTEDKD3PK ! -s 10.0.0.0/8 -d 172.30.0.44/32 -p tcp -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ
-A KUBE-SVL-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -j KUBE-SEP-UKSFD7AGPMPPLUHC
-A KUBE-SEP-UKSFD7AGPMPPLUHC -s 10.180.0.4/32 -m comment --comment "ns4/svc4:p80" -j KUBE-MARK-MASQ
-A KUBE-SEP-UKSFD7AGPMPPLUHC -p tcp -m comment --comment "ns4/svc4:p80" -m tcp -j DNAT --to-destination 10.180.0.4:80
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -s 10.180.0.5/32 -m comment --comment "ns4/svc4:p80" -j KUBE-MARK-MASQ
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -p tcp -m comment --comment "ns4/svc4:p80" -m tcp -j DNAT --to-destination 10.180.0.5:80
COMMIT
`;

const BOOTSTRAP = `*mangle
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*filter
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-PROXY-CANARY - [0:0]
-I INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-I INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-I FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-I INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-I INPUT -j KUBE-FIREWALL
-I OUTPUT -j KUBE-FIREWALL
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-PROXY-CANARY - [0:0]
-I OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-I POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT
`;

// ---- tests ----

t.test('full sync on node1: every chain, whole, as kube-proxy writes it', async (t) => {
  t.equal(renderIptablesSync(fixture('node1')), FULL_NODE1);
});

t.test('externalTrafficPolicy Local on a node without a local endpoint', async (t) => {
  const text = renderIptablesSync(fixture('node3'));
  t.same(chain(text, 'nat', 'KUBE-EXT-4SW47YFZTEDKD3PK'), [
    '-s 10.0.0.0/8 -m comment --comment "pod traffic for ns4/svc4:p80 external destinations" -j KUBE-SVC-4SW47YFZTEDKD3PK',
    '-m comment --comment "masquerade LOCAL traffic for ns4/svc4:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
    '-m comment --comment "route LOCAL traffic for ns4/svc4:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-4SW47YFZTEDKD3PK',
  ], 'in-cluster and node traffic still short-circuits to the Cluster chain; nothing falls through to a Local chain');
  t.notOk(declaredChains(text, 'nat').includes('KUBE-SVL-4SW47YFZTEDKD3PK'), 'no KUBE-SVL without local endpoints');
  t.same(chain(text, 'filter', 'KUBE-EXTERNAL-SERVICES'), [
    '-p tcp -m comment --comment "ns3/svc3:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30003 -j REJECT',
    '-p tcp -m comment --comment "ns4/svc4:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30004 -j DROP',
  ], 'external clients are dropped here');
  t.same(chain(text, 'filter', 'KUBE-NODEPORTS'), [
    '-p tcp -m comment --comment "ns4/svc4:p80 health check node port" -m tcp --dport 30404 -j ACCEPT',
  ], 'the health check port answers on every node');
  t.same(chain(text, 'nat', 'KUBE-NODEPORTS'), [
    '-p tcp -m comment --comment "ns2/svc2:p80" -m tcp --dport 30002 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT',
    '-p tcp -m comment --comment "ns4/svc4:p80" -m tcp --dport 30004 -j KUBE-EXT-4SW47YFZTEDKD3PK',
  ]);
});

t.test('internalTrafficPolicy Local on the node with the endpoint', async (t) => {
  const text = renderIptablesSync(fixture('node2'));
  t.same(chain(text, 'nat', 'KUBE-SVL-NUKIZ6OKUXPJNT4C'), [
    '! -s 10.0.0.0/8 -d 172.30.0.45/32 -p tcp -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
    '-m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN',
  ]);
  t.same(chain(text, 'nat', 'KUBE-SEP-I77PXRDZVX7PMWMN'), [
    '-s 10.180.0.3/32 -m comment --comment "ns5/svc5:p80" -j KUBE-MARK-MASQ',
    '-p tcp -m comment --comment "ns5/svc5:p80" -m tcp -j DNAT --to-destination 10.180.0.3:80',
  ]);
  t.match(text, /^-A KUBE-SERVICES -d 172\.30\.0\.45\/32 -p tcp -m comment --comment "ns5\/svc5:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVL-NUKIZ6OKUXPJNT4C$/m);
  t.notOk(declaredChains(text, 'nat').includes('KUBE-SVC-NUKIZ6OKUXPJNT4C'), 'no Cluster chain for a ClusterIP-only Local service');
  t.notMatch(chain(text, 'filter', 'KUBE-SERVICES')?.join('\n') ?? '', /svc5/, 'not dropped where an endpoint is');
  t.same(chain(text, 'nat', 'KUBE-SVL-4SW47YFZTEDKD3PK'), ['-m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ'], 'KUBE-SVL holds local endpoints only');
});

t.test('load-balancer IPs go to the EXT chain, and are refused without endpoints', async (t) => {
  const lb = port({ namespace: 'ns2', service: 'svc2', clusterIP: '172.30.0.42', nodePort: 30002, loadBalancerIPs: ['203.0.113.200'], endpoints: [ep('10.180.0.2', 80, 'node2')] });
  const text = renderIptablesSync(forNode('node1', [lb]));
  t.same(chain(text, 'nat', 'KUBE-SERVICES')?.slice(0, 2), [
    '-d 172.30.0.42/32 -p tcp -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT',
    '-d 203.0.113.200/32 -p tcp -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT',
  ]);
  t.same(chain(text, 'nat', 'KUBE-EXT-GNZBNJ2PO5MGZ6GT'), [
    '-m comment --comment "masquerade traffic for ns2/svc2:p80 external destinations" -j KUBE-MARK-MASQ',
    '-j KUBE-SVC-GNZBNJ2PO5MGZ6GT',
  ]);
  const empty = renderIptablesSync(forNode('node1', [{ ...lb, endpoints: [] }]));
  t.same(chain(empty, 'filter', 'KUBE-EXTERNAL-SERVICES'), [
    '-d 203.0.113.200/32 -p tcp -m comment --comment "ns2/svc2:p80 has no endpoints" -m tcp --dport 80 -j REJECT',
    '-p tcp -m comment --comment "ns2/svc2:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30002 -j REJECT',
  ]);
  t.same(declaredChains(empty, 'nat'), ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'], 'no nat chain for a service without endpoints');
});

t.test('bootstrap: chains, jumps prepended in upstream order, canaries', async (t) => {
  t.equal(renderIptablesBootstrap(), BOOTSTRAP);
  const state = applied(BOOTSTRAP);
  t.same(state.get('filter')?.get('INPUT'), [
    '-j KUBE-FIREWALL',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  ], 'INPUT reads as on a node kube-proxy started on');
  t.same(state.get('nat')?.get('PREROUTING'), ['-m comment --comment "kubernetes service portals" -j KUBE-SERVICES']);
  for (const table of ['mangle', 'nat', 'filter']) t.ok(state.get(table)?.has('KUBE-PROXY-CANARY'), `canary in ${table}`);
  t.doesNotThrow(() => applied(BOOTSTRAP, renderIptablesSync(fixture())), 'a full sync applies on top');
});

t.test('probabilities: 1/k with %0.10f, the last endpoint without one', async (t) => {
  t.same([1, 2, 3, 4, 5].map(iptablesProbability), ['1.0000000000', '0.5000000000', '0.3333333333', '0.2500000000', '0.2000000000']);
  t.equal(iptablesProbability(7), '0.1428571429');
  t.equal(iptablesProbability(2048), '0.0004882812', 'an exact tie rounds to even, as Go does');
  const five = port({ namespace: 'ns1', service: 'svc1', clusterIP: '172.30.0.41', endpoints: [1, 2, 3, 4, 5].map((i) => ep(`10.0.2.${i}`, 80, 'node2')) });
  const rules = chain(renderIptablesSync(forNode('node1', [five])), 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O') ?? [];
  t.same(
    rules.slice(1).map((r) => /--probability (\S+)/.exec(r)?.[1] ?? 'none'),
    ['0.2000000000', '0.2500000000', '0.3333333333', '0.5000000000', 'none'],
  );
});

t.test(`large cluster (more than ${LARGE_CLUSTER_ENDPOINTS} endpoints): no per-endpoint comments`, async (t) => {
  const many = (n: number) =>
    forNode('node1', [port({ namespace: 'ns1', service: 'svc1', clusterIP: '172.30.0.41', endpoints: Array.from({ length: n }, (_, i) => ep(`10.1.${i >> 8}.${i & 255}`, 80, 'node2')) })]);
  const small = renderIptablesSync(many(LARGE_CLUSTER_ENDPOINTS));
  const large = renderIptablesSync(many(LARGE_CLUSTER_ENDPOINTS + 1));
  t.match(small, /^-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1\/svc1:p80 -> 10\.1\.0\.0:80" -m statistic/m);
  t.match(small, /^-A KUBE-SEP-\w+ -s 10\.1\.0\.0\/32 -m comment --comment "ns1\/svc1:p80" -j KUBE-MARK-MASQ$/m);
  t.match(large, /^-A KUBE-SVC-XPGD46QRK7WJZT7O -m statistic --mode random --probability 0\.0009990010 -j KUBE-SEP-\w+$/m);
  t.match(large, /^-A KUBE-SEP-\w+ -s 10\.1\.0\.0\/32 -j KUBE-MARK-MASQ$/m);
  t.match(large, /^-A KUBE-SEP-\w+ -p tcp -m tcp -j DNAT --to-destination 10\.1\.0\.0:80$/m);
  t.match(large, /^-A KUBE-SERVICES -d 172\.30\.0\.41\/32 -p tcp -m comment --comment "ns1\/svc1:p80 cluster IP"/m, 'service-level comments stay');
});

t.test('iptablesChainsOf: what a sync of the input owns', async (t) => {
  const owned = iptablesChainsOf(fixture('node1'));
  t.same(owned.filter, ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL']);
  t.same(owned.nat, declaredChains(FULL_NODE1, 'nat'));
});

// ---- partial syncs ----

type Change = (services: ProxyServicePort[]) => void;
const svc = (services: ProxyServicePort[], name: string) => services.find((s) => `${s.namespace}/${s.service}` === name)!;
const changed = (change: Change, node = 'node1') => {
  const services = fixtureServices();
  change(services);
  return forNode(node, services);
};


t.test('partial sync, one endpoint of one service changed: that service port\'s chains only', async (t) => {
  const next = changed((s) => {
    svc(s, 'ns1/svc1').endpoints[2] = ep('10.0.1.6', 80, 'node3');
  });
  const text = renderIptablesSync(next, fixture());
  t.equal(text.split('*nat\n')[0], '*filter\nCOMMIT\n', 'no filter chain changed: none is written');
  t.equal(
    text.split('*nat\n')[1],
    `:KUBE-SVC-AQI2S6QIMU7PVVRP - [0:0]
:KUBE-SEP-3JOIVZTXZZRGORX4 - [0:0]
:KUBE-SEP-IO5XOSKPAXIFQXAJ - [0:0]
:KUBE-SEP-IKUB4M2ANUWUBX3Q - [0:0]
:KUBE-SEP-EQCHZ7S2PJ72OHAY - [0:0]
-A KUBE-SVC-AQI2S6QIMU7PVVRP ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m recent --name KUBE-SEP-3JOIVZTXZZRGORX4 --rcheck --seconds 10800 --reap -j KUBE-SEP-3JOIVZTXZZRGORX4
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m recent --name KUBE-SEP-IO5XOSKPAXIFQXAJ --rcheck --seconds 10800 --reap -j KUBE-SEP-IO5XOSKPAXIFQXAJ
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.6:80" -m recent --name KUBE-SEP-IKUB4M2ANUWUBX3Q --rcheck --seconds 10800 --reap -j KUBE-SEP-IKUB4M2ANUWUBX3Q
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-3JOIVZTXZZRGORX4
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-IO5XOSKPAXIFQXAJ
-A KUBE-SVC-AQI2S6QIMU7PVVRP -m comment --comment "ns1/svc1 -> 10.0.1.6:80" -j KUBE-SEP-IKUB4M2ANUWUBX3Q
-A KUBE-SEP-3JOIVZTXZZRGORX4 -s 10.0.1.1/32 -m comment --comment "ns1/svc1" -j KUBE-MARK-MASQ
-A KUBE-SEP-3JOIVZTXZZRGORX4 -p tcp -m comment --comment "ns1/svc1" -m recent --name KUBE-SEP-3JOIVZTXZZRGORX4 --set -m tcp -j DNAT --to-destination 10.0.1.1:80
-A KUBE-SEP-IO5XOSKPAXIFQXAJ -s 10.0.1.2/32 -m comment --comment "ns1/svc1" -j KUBE-MARK-MASQ
-A KUBE-SEP-IO5XOSKPAXIFQXAJ -p tcp -m comment --comment "ns1/svc1" -m recent --name KUBE-SEP-IO5XOSKPAXIFQXAJ --set -m tcp -j DNAT --to-destination 10.0.1.2:80
-A KUBE-SEP-IKUB4M2ANUWUBX3Q -s 10.0.1.6/32 -m comment --comment "ns1/svc1" -j KUBE-MARK-MASQ
-A KUBE-SEP-IKUB4M2ANUWUBX3Q -p tcp -m comment --comment "ns1/svc1" -m recent --name KUBE-SEP-IKUB4M2ANUWUBX3Q --set -m tcp -j DNAT --to-destination 10.0.1.6:80
-X KUBE-SEP-EQCHZ7S2PJ72OHAY
COMMIT
`,
  );
});

t.test('partial sync, a service removed: its chains are declared, then deleted', async (t) => {
  const next = changed((s) => {
    s.splice(s.indexOf(svc(s, 'ns4/svc4')), 1);
  });
  const text = renderIptablesSync(next, fixture());
  const gone = ['KUBE-EXT-4SW47YFZTEDKD3PK', 'KUBE-SVC-4SW47YFZTEDKD3PK', 'KUBE-SVL-4SW47YFZTEDKD3PK', 'KUBE-SEP-UKSFD7AGPMPPLUHC', 'KUBE-SEP-C6EBXVWJJZMIWKLZ'];
  t.same(declaredChains(text, 'nat'), ['KUBE-SERVICES', 'KUBE-NODEPORTS', ...gone], 'the top-level chains that lost its rules, and its own');
  t.same(text.split('\n').filter((l) => l.startsWith('-X')), gone.map((c) => `-X ${c}`));
  t.notOk(
    text.split('\n').some((l) => l.startsWith('-A') && gone.some((c) => l.includes(c))),
    'no rule is written in them, nor jumps to them',
  );
  t.notMatch(text, /ns4\/svc4/, 'nor does any rule mention the service');
});

t.test('partial sync without any change: nothing is written', async (t) => {
  const text = renderIptablesSync(fixture(), fixture());
  t.equal(text, '*filter\nCOMMIT\n*nat\nCOMMIT\n', 'top-level chains are rewritten only when their rules change');
});

t.test('a partial sync on top of the previous full sync gives the same chains as a full sync', async (t) => {
  const changes: [string, Change][] = [
    ['endpoint replaced', (s) => void (svc(s, 'ns1/svc1').endpoints[2] = ep('10.0.1.6', 80, 'node3'))],
    ['service removed', (s) => void s.splice(s.indexOf(svc(s, 'ns4/svc4')), 1)],
    ['service added', (s) => void s.splice(1, 0, port({ namespace: 'kube-system', service: 'kube-dns', portName: 'dns-tcp', clusterIP: '172.30.0.10', port: 53, endpoints: [ep('10.180.0.10', 53, 'node2')] }))],
    ['the local endpoint of an ETP Local service leaves', (s) => void svc(s, 'ns4/svc4').endpoints.shift()],
    ['all endpoints leave', (s) => void (svc(s, 'ns1/svc1').endpoints = [])],
    ['the first endpoints arrive', (s) => void (svc(s, 'ns3/svc3').endpoints = [ep('10.180.0.7', 80, 'node1')])],
    ['affinity turned off', (s) => void delete svc(s, 'ns1/svc1').affinityTimeoutSeconds],
    ['externalTrafficPolicy back to Cluster', (s) => void (svc(s, 'ns4/svc4').externalPolicyLocal = false)],
    ['everything gone', (s) => void s.splice(0)],
    ['large cluster', (s) => void (svc(s, 'ns3/svc3').endpoints = Array.from({ length: 1001 }, (_, i) => ep(`10.1.${i >> 8}.${i & 255}`, 80, 'node2')))],
  ];
  const boot = renderIptablesBootstrap();
  for (const [name, change] of changes) {
    const prev = fixture();
    const next = changed(change);
    const partial = renderIptablesSync(next, prev);
    const viaPartial = applied(boot, renderIptablesSync(prev), partial);
    t.same(plain(viaPartial), plain(applied(boot, renderIptablesSync(next))), name);
  }
  const prev = changed(changes[1]![1]);
  t.same(plain(applied(boot, renderIptablesSync(prev), renderIptablesSync(fixture(), prev))), plain(applied(boot, renderIptablesSync(fixture()))), 'and back');

  // As the agent syncs: each sync's input is the next one's `previous`, so the last render is reused and patched.
  // With a memo kept across them, as the proxy controller keeps one: the last render is reused and patched.
  const state = applied(boot);
  const memo = new IptablesMemo();
  let last: ReturnType<typeof fixture> | undefined;
  for (const [name, change] of [['start', () => {}] as [string, Change], ...changes]) {
    const next = changed(change);
    const text = renderIptablesSync(next, last, memo);
    t.ok(text.length <= renderIptablesSync(next, last).length, `in a row, the memo writes no more than a render from nothing: ${name}`);
    restore(state, text);
    t.same(plain(state), plain(applied(boot, renderIptablesSync(next))), `in a row: ${name}`);
    last = next;
  }
  t.equal(renderIptablesSync(fixture(), undefined, memo), renderIptablesSync(fixture()), 'a sync without previous is a full one, memo or not');
});

t.test('changes that leave every port in its place, one after another, patched in place: always the same chains as a full sync', async (t) => {
  // Each step changes the last input (as endpoints come and go on a running node), never adding or removing a port.
  const steps: [string, Change][] = [
    ['endpoint replaced', (s) => void (svc(s, 'ns1/svc1').endpoints[2] = ep('10.0.1.6', 80, 'node3'))],
    ['endpoint added', (s) => void svc(s, 'ns2/svc2').endpoints.push(ep('10.180.2.9', 80, 'node2'))],
    ['the same port changed again', (s) => void (svc(s, 'ns1/svc1').endpoints[0] = ep('10.0.1.7', 80, 'node1'))],
    ['two services at once', (s) => {
      svc(s, 'ns1/svc1').endpoints.pop();
      svc(s, 'ns3/svc3').endpoints = [ep('10.180.0.7', 80, 'node1')];
    }],
    ['all endpoints leave', (s) => void (svc(s, 'ns2/svc2').endpoints = [])],
    ['they come back', (s) => void (svc(s, 'ns2/svc2').endpoints = [ep('10.180.2.9', 80, 'node2')])],
    ['affinity turned off', (s) => void delete svc(s, 'ns1/svc1').affinityTimeoutSeconds],
    ['nothing changed', () => {}],
  ];
  const boot = renderIptablesBootstrap();
  const memo = new IptablesMemo();
  let last = fixture();
  const state = applied(boot, renderIptablesSync(last, undefined, memo));
  for (const [name, step] of steps) {
    const services = structuredClone(last.services);
    step(services);
    const next = { ...last, services };
    const text = renderIptablesSync(next, last, memo);
    restore(state, text);
    t.same(plain(state), plain(applied(boot, renderIptablesSync(next))), name);
    t.equal(text, renderIptablesSync(next, last), `${name}: the same text as a render with no memo`);
    last = next;
  }
});

t.test('the test restore refuses what iptables refuses', async (t) => {
  t.throws(() => applied('*nat\n:A - [0:0]\n-A A -j B\nCOMMIT\n'), /missing B/);
  t.throws(() => applied('*nat\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-X B\nCOMMIT\n'), /still referenced/);
  t.throws(() => applied('*nat\n-A A -j ACCEPT\nCOMMIT\n'), /no such chain/);
});
