import t from 'tap';
import { fixLabel, labelKeyProblem, labelProblem, labelValueProblem, portNameProblem, subdomainProblem } from '../../../dist/config/names.js';

t.test('DNS-1123 labels', async (t) => {
  for (const ok of ['a', 'web', 'web-1', '1web', 'a'.repeat(63)]) t.equal(labelProblem(ok, 'name'), undefined, ok);
  for (const bad of ['', 'Web', 'web_1', '-web', 'web-', 'a.b', 'a'.repeat(64)]) t.type(labelProblem(bad, 'name'), 'string', JSON.stringify(bad));
  t.type(labelProblem('abcde', 'name', 4), 'string', 'a shorter maximum');
});

t.test('suggested fixes are themselves valid', async (t) => {
  for (const bad of ['Web_1', '--x--', 'My.Lab', `${'a'.repeat(60)}-bbbb`]) {
    const fixed = fixLabel(bad);
    t.equal(labelProblem(fixed, 'name'), undefined, `${bad} -> ${fixed}`);
  }
  t.equal(fixLabel('Web_Server'), 'web-server');
  t.equal(fixLabel(`${'a'.repeat(23)}-b`, 24), 'a'.repeat(23), 'no dash left at the cut');
});

t.test('DNS-1123 subdomains', async (t) => {
  for (const ok of ['cluster.local', 'legacy.example.net', 'a']) t.equal(subdomainProblem(ok, 'x'), undefined, ok);
  for (const bad of ['Cluster.local', 'a..b', '.a', 'a.', 'a_b.c', `${'a'.repeat(64)}.b`]) t.type(subdomainProblem(bad, 'x'), 'string', bad);
});

t.test('port names', async (t) => {
  for (const ok of ['http', 'dns-tcp', 'h2c', 'a'.repeat(15)]) t.equal(portNameProblem(ok, 'x'), undefined, ok);
  for (const bad of ['HTTP', '80', 'a--b', '-a', 'a'.repeat(16), 'my_port']) t.type(portNameProblem(bad, 'x'), 'string', bad);
});

t.test('label keys and values', async (t) => {
  for (const ok of ['app', 'app.kubernetes.io/name', 'Tier_1', 'k8s.io/a.b']) t.equal(labelKeyProblem(ok, 'x'), undefined, ok);
  for (const bad of ['-app', '/app', 'Example.com/app', 'a b', `${'a'.repeat(64)}`]) t.type(labelKeyProblem(bad, 'x'), 'string', bad);
  for (const ok of ['', 'v1.2', 'Front_End']) t.equal(labelValueProblem('k', ok, 'x'), undefined, ok);
  for (const bad of ['-x', 'a b', 'a'.repeat(64)]) t.type(labelValueProblem('k', bad, 'x'), 'string', bad);
});
