import t from 'tap';
import { codesAndLines, lab, lineOf, parse, problems } from '../../fixtures/config/helpers.js';

const withLab = (...docs: string[]) => [lab(), ...docs].join('\n---\n');
const pod = (spec: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n${spec}`;

t.test('dnsPolicy defaults to ClusterFirst; hostname, subdomain and dnsConfig are read', async (t) => {
  t.equal(parse(withLab(pod(''))).pods[0]!.dnsPolicy, 'ClusterFirst');
  const p = parse(
    withLab(
      pod(
        [
          '  hostname: box',
          '  subdomain: group',
          '  dnsPolicy: None',
          '  dnsConfig:',
          '    nameservers: [10.96.0.10]',
          '    searches: [other.svc.cluster.local]',
          '    options: [{name: ndots, value: "2"}, {name: edns0}, {name: timeout, value: 3}]',
        ].join('\n'),
      ),
    ),
  ).pods[0]!;
  t.equal(p.hostname, 'box');
  t.equal(p.subdomain, 'group');
  t.equal(p.dnsPolicy, 'None');
  t.same(p.dnsConfig, {
    nameservers: ['10.96.0.10'],
    searches: ['other.svc.cluster.local'],
    options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }, { name: 'timeout', value: '3' }],
  });
  t.same(parse(withLab(pod(''))).notices, [], 'no "not yet supported" notice for DNS fields');
});

t.test('every policy is accepted; anything else names the four', async (t) => {
  for (const policy of ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default']) t.equal(parse(withLab(pod(`  dnsPolicy: ${policy}`))).pods[0]!.dnsPolicy, policy);
  const text = withLab(pod('  dnsPolicy: clusterfirst'));
  const ps = problems(text);
  t.same(codesAndLines(ps), [['bad-value', lineOf(text, 'dnsPolicy')]]);
  t.match(ps[0]!.message, /one of ClusterFirst, ClusterFirstWithHostNet, Default, None, not "clusterfirst"/);
});

t.test('dnsPolicy None needs a nameserver in dnsConfig', async (t) => {
  for (const spec of ['  dnsPolicy: None', '  dnsPolicy: None\n  dnsConfig: {searches: [a.b]}']) {
    const text = withLab(pod(spec));
    const ps = problems(text);
    t.same(codesAndLines(ps), [['missing-field', lineOf(text, 'dnsPolicy')]], spec);
    t.match(ps[0]!.message, /must list at least one nameserver/);
  }
});

t.test('hostname and subdomain are DNS labels', async (t) => {
  const text = withLab(pod('  hostname: Box_1\n  subdomain: a.b'));
  const ps = problems(text);
  t.same(codesAndLines(ps), [
    ['bad-name', lineOf(text, 'hostname')],
    ['bad-name', lineOf(text, 'subdomain')],
  ]);
  t.match(ps[0]!.message, /spec\.hostname 'Box_1' is not a DNS-1123 label/);
});

t.test('dnsConfig is validated as the API server does', async (t) => {
  const text = withLab(
    pod(
      [
        '  dnsConfig:',
        '    nameservers: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4]',
        '    searches: [ok.example, "Bad_Domain"]',
        '    options: [{name: "nd ots"}, {value: "1"}]',
        '    extra: 1',
      ].join('\n'),
    ),
  );
  const ps = problems(text);
  t.same(ps.map((p) => p.code).sort(), ['bad-value', 'bad-value', 'bad-value', 'missing-field', 'unknown-field']);
  const messages = ps.map((p) => p.message).join('\n');
  t.match(messages, /nameservers lists 4 servers; at most 3/);
  t.match(messages, /searches 'Bad_Domain' is not a DNS-1123 subdomain/);
  t.match(messages, /'nd ots' is not a resolver option name/);
  t.match(messages, /options\[\]\.name is required/);
  t.match(messages, /unknown field 'extra' in .*spec\.dnsConfig/);
  t.equal(ps.length, 5);
  const notIp = withLab(pod('  dnsConfig: {nameservers: [dns.example]}'));
  t.match(problems(notIp)[0]!.message, /'dns\.example' is not an IPv4 address/);
  const long = withLab(pod(`  dnsConfig: {searches: [${Array.from({ length: 33 }, (_, i) => `s${i}.example`).join(', ')}]}`));
  t.match(problems(long)[0]!.message, /searches lists 33 domains; at most 32/);
});
