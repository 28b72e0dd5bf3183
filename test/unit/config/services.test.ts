import t from 'tap';
import { FILE, codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');
const NS = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}`;

/** A Service document; `spec` lines are indented under `spec:` here. */
function svc(name: string, spec: string[], meta = ''): string {
  return ['apiVersion: v1', 'kind: Service', `metadata: {name: ${name}${meta}}`, 'spec:', ...spec.map((l) => `  ${l}`)].join('\n');
}

const SELECT = 'selector: {app: web}';
const PORT80 = 'ports: [{port: 80}]';

t.test('a ClusterIP service with only what it needs: the Kubernetes defaults', async (t) => {
  const text = withLab(svc('web', [SELECT, PORT80]));
  const spec = parse(text);
  t.same(spec.services, [
    {
      namespace: 'default',
      name: 'web',
      type: 'ClusterIP',
      selector: { app: 'web' },
      ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }],
      sessionAffinity: 'None',
      affinityTimeoutSeconds: 10800,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      source: { file: FILE, line: lineOf(text, 'kind: Service') - 1, col: 1 },
    },
  ]);
  t.same(spec.notices, [], 'a service is read, not reported as a later kind');
});

t.test('every accepted field', async (t) => {
  const text = withLab(
    NS('shop'),
    svc(
      'web',
      [
        'type: NodePort',
        'clusterIP: 10.96.0.20',
        'clusterIPs: [10.96.0.20]',
        'ipFamilies: [IPv4]',
        'ipFamilyPolicy: SingleStack',
        'selector: {app: web, tier: front}',
        'ports:',
        '  - {name: http, port: 80, targetPort: http, nodePort: 30080, appProtocol: http}',
        '  - {name: dns, port: 53, protocol: UDP, targetPort: 5353, nodePort: 30053}',
        '  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 5353, nodePort: 30053}',
        '  - {name: auto, port: 81, nodePort: 0}',
        'sessionAffinity: ClientIP',
        'sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}',
        'externalTrafficPolicy: Local',
        'internalTrafficPolicy: Local',
        'healthCheckNodePort: 32000',
        'publishNotReadyAddresses: true',
      ],
      ', namespace: shop, labels: {app: web}, annotations: {a: b}',
    ),
  );
  const spec = parse(text);
  const { source, ...rest } = spec.services[0]!;
  t.same(rest, {
    namespace: 'shop',
    name: 'web',
    type: 'NodePort',
    clusterIP: '10.96.0.20',
    selector: { app: 'web', tier: 'front' },
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 },
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 30053 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 5353, nodePort: 30053 },
      { name: 'auto', protocol: 'TCP', port: 81, targetPort: 81 },
    ],
    sessionAffinity: 'ClientIP',
    affinityTimeoutSeconds: 60,
    externalTrafficPolicy: 'Local',
    internalTrafficPolicy: 'Local',
    healthCheckNodePort: 32000,
    publishNotReadyAddresses: true,
  });
  t.equal(source.line, lineOf(text, 'kind: Service') - 1);
  t.match(spec.notices.at(-1)?.message ?? '', /^no effect in the lab: appProtocol /, 'appProtocol has no effect, said once');
});

t.test('headless services, with or without ports', async (t) => {
  const text = withLab(svc('db', [SELECT, 'clusterIP: None']), svc('db2', [SELECT, 'clusterIPs: [None]', 'ports: [{name: pg, port: 5432}]']));
  t.same(
    parse(text).services.map((s) => [s.name, s.clusterIP, s.ports.length]),
    [
      ['db', 'None', 0],
      ['db2', 'None', 1],
    ],
  );
});

t.test('clusterIP: empty asks for an allocated address; clusterIPs alone is enough', async (t) => {
  const text = withLab(svc('a', [SELECT, PORT80, 'clusterIP: ""']), svc('b', [SELECT, PORT80, 'clusterIPs: [10.96.5.5]']));
  t.same(
    parse(text).services.map((s) => s.clusterIP),
    [undefined, '10.96.5.5'],
  );
});

t.test('an empty selector is no selector, as the API server stores it', async (t) => {
  t.equal(parse(withLab(svc('a', ['selector: {}', PORT80]))).services[0]!.selector, undefined);
  t.equal(parse(withLab(svc('a', [PORT80]))).services[0]!.selector, undefined);
});

t.test('LoadBalancer and ExternalName are kept; neither gets a notice', async (t) => {
  const text = withLab(
    svc('lb', ['type: LoadBalancer', SELECT, 'ports: [{port: 80, nodePort: 31000}]', 'allocateLoadBalancerNodePorts: false', 'loadBalancerIP: 203.0.113.40', 'loadBalancerSourceRanges: [203.0.113.0/28, 10.1.2.3/8]']),
    svc('ext', ['type: ExternalName', 'externalName: db.example.com.', 'ports: [{port: 5432}]']),
  );
  const spec = parse(text);
  t.same(
    spec.services.map((s) => [s.name, s.type, s.ports[0]!.nodePort, s.allocateLoadBalancerNodePorts, s.externalName, s.clusterIP, s.loadBalancerIP, s.loadBalancerSourceRanges]),
    [
      ['lb', 'LoadBalancer', 31000, false, undefined, undefined, '203.0.113.40', ['203.0.113.0/28', '10.0.0.0/8']],
      ['ext', 'ExternalName', undefined, undefined, 'db.example.com.', undefined, undefined, undefined],
    ],
    'source ranges are kept as networks, host bits cleared as the API server accepts them',
  );
  t.same(spec.notices, [], 'the cloud controller and the cluster DNS serve them');
});

t.test('loadBalancerIP and loadBalancerSourceRanges: LoadBalancer only, well-formed', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['on a NodePort service', ['type: NodePort', SELECT, PORT80, 'loadBalancerIP: 203.0.113.40'], /spec.loadBalancerIP may only be used when type is LoadBalancer/],
    ['ranges on a ClusterIP service', [SELECT, PORT80, 'loadBalancerSourceRanges: [10.0.0.0/8]'], /spec.loadBalancerSourceRanges may only be used when type is LoadBalancer/],
    ['not an address', ['type: LoadBalancer', SELECT, PORT80, 'loadBalancerIP: lb.example.com'], /'lb.example.com' is not an IPv4 address/],
    ['not a CIDR', ['type: LoadBalancer', SELECT, PORT80, 'loadBalancerSourceRanges: [10.0.0.0/40]'], /entry '10.0.0.0\/40' is not an IPv4 CIDR/],
  ];
  for (const [name, lines, message] of cases) {
    const found = problems(withLab(svc('lb', lines)));
    t.match(found.map((p) => p.message).join('\n'), message, name);
  }
});

t.test('fields later versions build: a notice naming the field and line, never silence', async (t) => {
  const text = withLab(
    svc('lb', [
      'type: LoadBalancer',
      SELECT,
      PORT80,
      'externalIPs: [198.51.100.7]',
      'loadBalancerClass: example.com/lb',
      'trafficDistribution: PreferClose',
    ]),
  );
  const notices = parse(text).notices;
  const fields = ['externalIPs', 'loadBalancerClass', 'trafficDistribution'];
  t.same(
    notices.map((n) => [n.source?.line, n.message]),
    fields.map((f) => [lineOf(text, `${f}:`), `Service default/lb at ${FILE}:${lineOf(text, `${f}:`)}: spec.${f} is not yet supported by this version; it has no effect on the lab`]),
  );
});

t.test('a declared default/kubernetes is checked, then left to the lab with a notice', async (t) => {
  const text = withLab(svc('kubernetes', ['clusterIP: 10.96.0.1', 'ports: [{name: https, port: 443, targetPort: 6443}]']));
  const spec = parse(text);
  t.same(spec.services, []);
  t.match(spec.notices[0]!.message, /^Service default\/kubernetes at lab\.yaml:\d+: the lab makes this service itself/);
  const bad = withLab(svc('kubernetes', ['ports: [{port: 0}]']));
  t.same(codesAndLines(problems(bad)), [['bad-value', lineOf(bad, 'port: 0')]]);
});

t.test("a declared kube-system/kube-dns or coredns Deployment is left to the lab's cluster DNS, with a notice", async (t) => {
  const text = withLab(
    NS('kube-system'),
    svc('kube-dns', ['clusterIP: 10.96.0.10', 'selector: {k8s-app: kube-dns}', 'ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53}]'], ', namespace: kube-system'),
    ['apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: coredns, namespace: kube-system}', 'spec:', '  selector: {matchLabels: {k8s-app: kube-dns}}', '  template:', '    metadata: {labels: {k8s-app: kube-dns}}', '    spec: {containers: [{name: coredns}]}'].join('\n'),
  );
  const spec = parse(text);
  t.same(spec.services, []);
  t.same(spec.pods, []);
  t.match(spec.notices.map((n) => n.message), [/^Service kube-system\/kube-dns at lab\.yaml:\d+: the lab runs the cluster DNS itself/, /^Deployment kube-system\/coredns at lab\.yaml:\d+: the lab runs the cluster DNS itself/]);
});

t.test('services inside a v1 List are read like documents', async (t) => {
  const text = withLab(['apiVersion: v1', 'kind: List', 'items:', '  - apiVersion: v1', '    kind: Service', '    metadata: {name: a}', '    spec: {ports: [{port: 80}]}'].join('\n'));
  t.same(parse(text).services.map((s) => s.name), ['a']);
});

/** Each case: the spec lines of one Service, and the [code, needle] of each problem (the needle finds the line). */
const REFUSED: [string, string[], [string, string][], RegExp?][] = [
  ['a misspelt field', ['selecter: {app: web}', PORT80], [['unknown-field', 'selecter']], /unknown field 'selecter'.*allowed: type, clusterIP/],
  ['an unknown type', ['type: Internal', PORT80], [['bad-value', 'Internal']], /ClusterIP, NodePort, LoadBalancer, ExternalName/],
  ['no ports', [SELECT], [['missing-field', 'spec:']], /at least one port/],
  ['an empty port list', [SELECT, 'ports: []'], [['missing-field', 'ports: []']]],
  ['a port out of range', ['ports: [{port: 70000}]'], [['bad-value', '70000']], /from 1 to 65535/],
  ['a port without port', ['ports: [{targetPort: 80}]'], [['missing-field', 'targetPort: 80']]],
  ['SCTP', ['ports: [{port: 80, protocol: SCTP}]'], [['bad-value', 'SCTP']], /SCTP is not supported by the lab/],
  ['a lower-case protocol', ['ports: [{port: 80, protocol: tcp}]'], [['bad-value', 'tcp']]],
  ['an unknown port field', ['ports: [{port: 80, hostPort: 80}]'], [['unknown-field', 'hostPort']]],
  ['a port that is not a mapping', ['ports: [80]'], [['bad-value', 'ports: [80]']]],
  ['unnamed ports of a multi-port service', ['ports:', '  - {port: 80}', '  - {name: b, port: 81}'], [['missing-field', '{port: 80}']], /each needs a name/],
  ['a duplicate port name', ['ports:', '  - {name: a, port: 80}', '  - {name: a, port: 81}'], [['duplicate', 'port: 81']]],
  ['a port name that is not a DNS label', ['ports: [{name: Web_1, port: 80}]'], [['bad-name', 'Web_1']]],
  ['the same port and protocol twice', ['ports:', '  - {name: a, port: 80}', '  - {name: b, port: 80, protocol: TCP}'], [['duplicate', 'name: b']]],
  ['a quoted numeric targetPort', ['ports: [{port: 80, targetPort: "8080"}]'], [['bad-name', '"8080"']], /quoted number/],
  ['a targetPort name that is no IANA name', ['ports: [{port: 80, targetPort: http--x}]'], [['bad-name', 'http--x']]],
  ['a targetPort out of range', ['ports: [{port: 80, targetPort: 0}]'], [['bad-value', 'targetPort: 0']]],
  ['a nodePort out of range', ['type: NodePort', 'ports: [{port: 80, nodePort: 8080}]'], [['bad-value', 'nodePort: 8080']], /from 30000 to 32767/],
  ['a nodePort on a ClusterIP service', ['ports: [{port: 80, nodePort: 30080}]'], [['bad-value', 'nodePort: 30080']], /only be set when type is NodePort or LoadBalancer/],
  ['a nodePort twice for one protocol', ['type: NodePort', 'ports:', '  - {name: a, port: 80, nodePort: 30080}', '  - {name: b, port: 81, nodePort: 30080}'], [['duplicate', 'port: 81']]],
  ['a clusterIP outside the service network', [PORT80, 'clusterIP: 10.200.0.5'], [['bad-value', '10.200.0.5']], /outside spec\.serviceNetwork\.cidr 10\.96\.0\.0\/12/],
  ['the network address', [PORT80, 'clusterIP: 10.96.0.0'], [['bad-value', '10.96.0.0']], /network address/],
  ['the broadcast address', [PORT80, 'clusterIP: 10.111.255.255'], [['bad-value', '10.111.255.255']], /broadcast address/],
  ["the kubernetes service's address", [PORT80, 'clusterIP: 10.96.0.1'], [['bad-value', '10.96.0.1']], /address of Service default\/kubernetes/],
  ["kube-dns's address", [PORT80, 'clusterIP: 10.96.0.10'], [['bad-value', '10.96.0.10']], /reserved for Service kube-system\/kube-dns/],
  ['a clusterIP that is no address', [PORT80, 'clusterIP: 10.96.0'], [['bad-value', '10.96.0']], /not an IPv4 address/],
  ['clusterIPs that disagree with clusterIP', [PORT80, 'clusterIP: 10.96.0.20', 'clusterIPs: [10.96.0.21]'], [['bad-value', '10.96.0.21']], /must be the same/],
  ['a second clusterIPs entry', [PORT80, 'clusterIPs: [10.96.0.20, "fd00::20"]'], [['bad-value', 'clusterIPs']], /IPv4-only/],
  ['a headless NodePort service', ['type: NodePort', PORT80, 'clusterIP: None'], [['bad-value', 'clusterIP: None']], /may not be None/],
  ['a clusterIP on an ExternalName service', ['type: ExternalName', 'externalName: a.example', 'clusterIP: 10.96.0.20'], [['bad-value', '10.96.0.20']], /must be empty/],
  ['IPv6', [PORT80, 'ipFamilies: [IPv6]'], [['bad-value', 'IPv6']], /IPv4-only/],
  ['RequireDualStack', [PORT80, 'ipFamilyPolicy: RequireDualStack'], [['bad-value', 'RequireDualStack']]],
  ['an unknown session affinity', [PORT80, 'sessionAffinity: Cookie'], [['bad-value', 'Cookie']]],
  ['an affinity timeout of 0', [PORT80, 'sessionAffinity: ClientIP', 'sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}'], [['bad-value', 'timeoutSeconds']], /from 1 to 86400/],
  ['an affinity timeout above a day', [PORT80, 'sessionAffinity: ClientIP', 'sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}'], [['bad-value', 'timeoutSeconds']]],
  ['an affinity config without ClientIP', [PORT80, 'sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}'], [['bad-value', 'sessionAffinityConfig']], /sessionAffinity: ClientIP/],
  ['a misspelt affinity config', [PORT80, 'sessionAffinity: ClientIP', 'sessionAffinityConfig: {clientIP: {timeout: 60}}'], [['unknown-field', 'sessionAffinityConfig']]],
  ['externalTrafficPolicy on a ClusterIP service', [PORT80, 'externalTrafficPolicy: Local'], [['bad-value', 'externalTrafficPolicy']], /externally-accessible/],
  ['an unknown traffic policy', ['type: NodePort', PORT80, 'externalTrafficPolicy: Global'], [['bad-value', 'Global']]],
  ['an unknown internal traffic policy', [PORT80, 'internalTrafficPolicy: Node'], [['bad-value', 'Node']]],
  ['healthCheckNodePort without Local', ['type: NodePort', PORT80, 'healthCheckNodePort: 32000'], [['bad-value', 'healthCheckNodePort']], /externalTrafficPolicy is Local/],
  ['healthCheckNodePort equal to a nodePort', ['type: NodePort', 'ports: [{port: 80, nodePort: 32000}]', 'externalTrafficPolicy: Local', 'healthCheckNodePort: 32000'], [['duplicate', 'healthCheckNodePort']]],
  ['an ExternalName service without externalName', ['type: ExternalName'], [['missing-field', 'spec:']]],
  ['an externalName that is no DNS name', ['type: ExternalName', 'externalName: db_1.example'], [['bad-name', 'db_1']]],
  ['externalName on a ClusterIP service', [PORT80, 'externalName: a.example'], [['bad-value', 'externalName']], /only to type ExternalName/],
  ['allocateLoadBalancerNodePorts on a NodePort service', ['type: NodePort', PORT80, 'allocateLoadBalancerNodePorts: false'], [['bad-value', 'allocateLoadBalancerNodePorts']]],
  ['publishNotReadyAddresses that is no boolean', [PORT80, 'publishNotReadyAddresses: "yes"'], [['bad-value', 'publishNotReadyAddresses']]],
  ['a selector value that is no string', [PORT80, 'selector: {app: 1}'], [['bad-value', 'app: 1']]],
];

t.test('refused, each at its line, nothing half-accepted', async (t) => {
  for (const [name, spec, expected, message] of REFUSED) {
    const text = withLab(svc('web', spec));
    const from = lineOf(text, 'kind: Service');
    let ps;
    try {
      ps = problems(text);
    } catch (err) {
      t.fail(`${name}: ${(err as Error).message}`);
      continue;
    }
    t.same(
      codesAndLines(ps),
      expected.map(([code, needle]) => [code, lineOf(text, needle, from - 1)]),
      name,
    );
    if (message) t.match(ps[0]?.message ?? '', message, `${name}: message`);
  }
});

t.test('a Service needs a spec, its namespace, and apiVersion v1', async (t) => {
  const noSpec = withLab('apiVersion: v1\nkind: Service\nmetadata: {name: a}');
  t.same(codesAndLines(problems(noSpec)), [['missing-field', lineOf(noSpec, 'kind: Service') - 1]]);
  const ns = withLab(svc('a', [PORT80], ', namespace: shop'));
  const ps = problems(ns);
  t.same(codesAndLines(ps), [['bad-value', lineOf(ns, 'namespace: shop')]]);
  t.match(ps[0]!.message, /kind: Namespace/);
  const version = withLab(svc('a', [PORT80]).replace('apiVersion: v1', 'apiVersion: v2'));
  t.same(codesAndLines(problems(version)), [['bad-value', lineOf(version, 'apiVersion: v2')]]);
  const top = withLab(`${svc('a', [PORT80])}\nstatus: {loadBalancer: {}}\nextra: 1`);
  t.same(codesAndLines(problems(top)), [['unknown-field', lineOf(top, 'extra: 1')]], 'status is accepted, other top-level keys are not');
});

t.test('across services: names, ClusterIPs and node ports are unique', async (t) => {
  const names = withLab(NS('shop'), svc('a', [PORT80]), svc('a', [PORT80], ', namespace: shop'), svc('a', ['ports: [{port: 81}]']));
  t.same(codesAndLines(problems(names)), [['duplicate', lineOf(names, 'port: 81') - 4]], 'the same name in another namespace is fine');

  const ips = withLab(svc('a', [PORT80, 'clusterIP: 10.96.0.20']), svc('b', [PORT80, 'clusterIPs: [10.96.0.20]']));
  const ipProblems = problems(ips);
  t.same(codesAndLines(ipProblems), [['duplicate', lineOf(ips, 'clusterIPs')]]);
  t.match(ipProblems[0]!.message, /already taken by Service default\/a \(at lab\.yaml:\d+\)/);

  const ports = withLab(
    svc('a', ['type: NodePort', 'ports: [{port: 80, nodePort: 30080}]']),
    svc('b', ['type: NodePort', 'ports: [{port: 53, protocol: UDP, nodePort: 30080}]']),
    svc('c', ['type: LoadBalancer', 'ports: [{port: 80, nodePort: 30081}]', 'externalTrafficPolicy: Local', 'healthCheckNodePort: 30080']),
  );
  const portProblems = problems(ports);
  t.same(codesAndLines(portProblems), [
    ['duplicate', lineOf(ports, 'protocol: UDP, nodePort: 30080')],
    ['duplicate', lineOf(ports, 'healthCheckNodePort: 30080')],
  ]);
  t.match(portProblems[0]!.message, /nodePort 30080 is already used by Service default\/a/, 'a node port belongs to one service whatever the protocol');
});

t.test('a service CIDR that is itself invalid is reported alone, not again for every ClusterIP', async (t) => {
  const text = withLab(svc('a', [PORT80, 'clusterIP: 10.96.0.20'])).replace('name: demo\n', 'name: demo\nspec:\n  serviceNetwork: {cidr: 10.96.0.1/12}\n');
  t.same(codesAndLines(problems(text)), [['bad-value', lineOf(text, 'serviceNetwork')]]);
  const custom = withLab(svc('a', [PORT80, 'clusterIP: 10.96.0.20'])).replace('name: demo\n', 'name: demo\nspec:\n  serviceNetwork: {cidr: 172.30.0.0/16}\n');
  t.same(codesAndLines(problems(custom)), [['bad-value', lineOf(custom, 'clusterIP: 10.96.0.20')]], 'checked against the written CIDR');
});
