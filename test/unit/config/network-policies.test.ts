import t from 'tap';
import { codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

const NS = (name: string, labels = '') => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}${labels ? `, labels: ${labels}` : ''}}`;
/** A NetworkPolicy in namespace x; `spec` lines are indented under `spec:` here. */
const np = (name: string, spec: string[], ns = 'x') =>
  ['apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', `metadata: {name: ${name}, namespace: ${ns}}`, 'spec:', ...spec.map((l) => `  ${l}`)].join('\n');
const doc = (...docs: string[]) => [lab(), NS('x', '{team: a}'), ...docs].join('\n---\n');
const messages = (text: string) => problems(text).map((p) => p.message);

t.test('a policy with every field, defaulted', async (t) => {
  const spec = parse(
    doc(
      np('web.allow', [
        'podSelector: {matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [front]}, {key: legacy, operator: DoesNotExist}]}',
        'ingress:',
        '  - from: [{podSelector: {}}, {namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: api}}}, {ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]',
        '    ports: [{port: 80}, {protocol: UDP, port: dns}, {protocol: SCTP, port: 3000, endPort: 3010}, {protocol: UDP}]',
        '  - {}',
        'egress:',
        '  - to: [{namespaceSelector: {}}]',
      ]),
    ),
  );
  const p = spec.networkPolicies[0]!;
  t.equal(p.name, 'web.allow', 'names are DNS subdomains');
  t.same(p.policyTypes, ['Ingress', 'Egress'], 'Egress is defaulted in with egress rules');
  t.same(p.ingress[0]!.ports, [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 'dns' }, { protocol: 'SCTP', port: 3000, endPort: 3010 }, { protocol: 'UDP' }]);
  t.same(p.ingress[0]!.peers[2], { ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'], family: 4 } });
  t.same(p.ingress[1], { peers: [], ports: [] }, '{} admits everything');
  t.same(p.podSelector.matchExpressions[1], { key: 'legacy', operator: 'DoesNotExist', values: [] });
  t.same(spec.namespaceLabels, { x: { team: 'a' } }, 'namespace labels are kept for namespaceSelectors');
  t.notOk(spec.notices.some((n) => n.message.includes('NetworkPolicy')), 'no notice: the kind is supported');
});

t.test('policyTypes: as written, or Ingress alone without egress rules', async (t) => {
  const spec = parse(doc(np('a', ['podSelector: {}']), np('b', ['podSelector: {}', 'policyTypes: [Egress]']), np('c', ['podSelector: {}', 'egress: []'])));
  t.same(spec.networkPolicies.map((p) => p.policyTypes), [['Ingress'], ['Egress'], ['Ingress']]);
});

t.test('validation as the API server does it, each at its line', async (t) => {
  const cases: [string, string[], RegExp, string][] = [
    ['empty peer', ['podSelector: {}', 'ingress: [{from: [{}]}]'], /must specify a peer/, 'from: [{}]'],
    ['ipBlock with a selector', ['podSelector: {}', 'ingress:', '  - from:', '      - podSelector: {}', '        ipBlock: {cidr: 10.0.0.0/8}'], /may not combine ipBlock with podSelector/, 'ipBlock:'],
    ['ipBlock with a namespaceSelector', ['podSelector: {}', 'egress:', '  - to:', '      - namespaceSelector: {matchLabels: {team: a}}', '        ipBlock: {cidr: 203.0.113.0/24}'], /may not combine ipBlock with namespaceSelector; write them as separate peers/, 'ipBlock:'],
    ['ipBlock with both selectors', ['podSelector: {}', 'ingress:', '  - from:', '      - podSelector: {}', '        namespaceSelector: {}', '        ipBlock: {cidr: 10.0.0.0/8}'], /may not combine ipBlock with podSelector and namespaceSelector/, 'ipBlock:'],
    ['except outside cidr', ['podSelector: {}', 'ingress:', '  - from:', '      - ipBlock:', '          cidr: 10.0.0.0/8', '          except: [11.0.0.0/8]'], /strictly inside cidr 10.0.0.0\/8/, 'except:'],
    ['except equal to cidr', ['podSelector: {}', 'ingress:', '  - from:', '      - ipBlock:', '          cidr: 10.0.0.0/8', '          except: [10.0.0.0/8]'], /strictly inside/, 'except:'],
    ['bad cidr', ['podSelector: {}', 'ingress:', '  - from:', '      - ipBlock: {cidr: 10.0.0.0/33}'], /is not a CIDR/, 'cidr: 10.0.0.0/33'],
    ['bad protocol', ['podSelector: {}', 'ingress:', '  - ports:', '      - protocol: ICMP'], /protocol must be one of TCP, UDP, SCTP/, 'protocol: ICMP'],
    ['port out of range', ['podSelector: {}', 'ingress:', '  - ports:', '      - port: 70000'], /from 1 to 65535/, 'port: 70000'],
    ['bad port name', ['podSelector: {}', 'ingress:', '  - ports:', '      - port: Http_Port'], /not a valid port name/, 'port: Http_Port'],
    ['endPort without port', ['podSelector: {}', 'ingress:', '  - ports:', '      - endPort: 90'], /endPort needs a numeric port/, 'endPort: 90'],
    ['endPort after a name', ['podSelector: {}', 'ingress:', '  - ports:', '      - {port: http,', '         endPort: 90}'], /cannot follow a named port/, 'endPort: 90'],
    ['endPort below port', ['podSelector: {}', 'ingress:', '  - ports:', '      - {port: 100,', '         endPort: 90}'], /must be equal to or greater than port 100/, 'endPort: 90'],
    ['In without values', ['podSelector:', '  matchExpressions:', '    - {key: app, operator: In}'], /operator In needs at least one value/, 'operator: In'],
    ['NotIn without values', ['podSelector:', '  matchExpressions:', '    - {key: app, operator: NotIn}'], /operator NotIn needs at least one value/, 'operator: NotIn'],
    ['NotIn with empty values, in a peer', ['podSelector: {}', 'ingress:', '  - from:', '      - namespaceSelector:', '          matchExpressions:', '            - key: kubernetes.io/metadata.name', '              operator: NotIn', '              values: []'], /operator NotIn needs at least one value/, 'values: []'],
    ['Exists with values', ['podSelector:', '  matchExpressions:', '    - key: app', '      operator: Exists', '      values: [a]'], /takes no values/, 'values: [a]'],
    ['bad operator', ['podSelector:', '  matchExpressions:', '    - key: app', '      operator: Equals'], /must be one of In, NotIn, Exists, DoesNotExist/, 'operator: Equals'],
    ['bad label key', ['podSelector:', '  matchLabels:', '    "bad key": x'], /label key 'bad key' is not valid/, 'bad key'],
    ['unknown policy type', ['podSelector: {}', 'policyTypes: [Ingress, Forward]'], /must be one of Ingress, Egress/, 'Forward'],
    ['unknown field', ['podSelector: {}', 'ingres: []'], /unknown field 'ingres'/, 'ingres:'],
    ['unknown peer field', ['podSelector: {}', 'ingress:', '  - from:', '      - podSelectr: {}'], /unknown field 'podSelectr'/, 'podSelectr'],
  ];
  for (const [what, spec, message, at] of cases) {
    const text = doc(np('p', spec));
    const ps = problems(text);
    t.match(ps.map((p) => p.message).join('\n'), message, what);
    t.ok(ps.some((p) => p.source?.line === lineOf(text, at)), `${what}: at the line of '${at}' (got ${JSON.stringify(codesAndLines(ps))})`);
  }
});

t.test('names, namespaces and duplicates', async (t) => {
  t.match(messages(doc(np('Bad_Name', ['podSelector: {}']))).join('\n'), /not a DNS-1123 subdomain/);
  t.match(messages(doc(np('p', ['podSelector: {}'], 'nowhere'))).join('\n'), /namespace 'nowhere', which no Namespace document declares/);
  const text = doc(np('p', ['podSelector: {}']), np('p', ['podSelector: {}']));
  const ps = problems(text);
  t.same(codesAndLines(ps), [['duplicate', lineOf(text, 'kind: NetworkPolicy', lineOf(text, 'kind: NetworkPolicy')) - 1]]);
  t.match(ps[0]!.message, /NetworkPolicy x\/p is declared twice/);
  t.match(messages([lab(), NS('x', '{kubernetes.io/metadata.name: y}')].join('\n---\n')).join('\n'), /set by the API server to the namespace's own name/);
});

t.test('notices: what the lab reads differently, never silently', async (t) => {
  const spec = parse(
    doc(
      np('p', ['podSelector: {}', 'policyTypes: [Egress]', 'ingress: [{}]', 'egress:', '  - to: [{ipBlock: {cidr: "10.1.2.3/8"}}, {ipBlock: {cidr: "::/0"}}]']),
    ),
  );
  const notes = spec.notices.map((n) => n.message).join('\n');
  t.match(notes, /ingress rules have no effect: policyTypes \[Egress\] does not include Ingress/);
  t.match(notes, /10\.1\.2\.3\/8 has host bits set; it is read as the network 10\.0\.0\.0\/8/);
  t.match(notes, /::\/0 is IPv6; the lab's network is IPv4 only/);
  t.equal(spec.networkPolicies[0]!.egress[0]!.peers[0]!.ipBlock!.cidr, '10.0.0.0/8');
});
