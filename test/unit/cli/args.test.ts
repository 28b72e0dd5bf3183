import t from 'tap';
import { parseArgs } from '../../../dist/cli/args.js';
import { age, table } from '../../../dist/cli/table.js';
import { ConfigError } from '../../../dist/util/errors.js';

const specs = [
  { name: 'file', short: 'f', value: true },
  { name: 'name', value: true },
  { name: 'all' },
  { name: 'container', short: 'c', value: true },
];

t.test('flags anywhere, repeated -f, -- ends options', async (t) => {
  const a = parseArgs(['-f', 'a.yaml', 'pods', '--name=x', '-fb.yaml', '--all', 'web', '-c', 'side', '--', 'curl', '-s', '--name'], specs);
  t.same(a.flags.get('file'), ['a.yaml', 'b.yaml']);
  t.same(a.flags.get('name'), ['x']);
  t.same(a.flags.get('all'), ['true']);
  t.same(a.positionals, ['pods', 'web']);
  t.same(a.rest, ['curl', '-s', '--name']);
});

t.test('unknown options and missing values are bad input', async (t) => {
  t.throws(() => parseArgs(['--nope'], specs), ConfigError);
  t.throws(() => parseArgs(['--name'], specs), ConfigError);
  t.throws(() => parseArgs(['-f', '--all'], specs), ConfigError);
});

t.test('tables and ages look like kubectl', async (t) => {
  t.equal(table(['NAME', 'READY'], [['web-abcde', '1/1'], ['x', '0/2']]), 'NAME        READY\nweb-abcde   1/1\nx           0/2\n');
  const now = Date.parse('2026-01-01T10:00:00Z');
  t.equal(age('2026-01-01T09:59:15Z', now), '45s');
  t.equal(age('2026-01-01T09:56:48Z', now), '3m12s');
  t.equal(age('2026-01-01T07:55:00Z', now), '125m');
  t.equal(age('2025-12-29T06:00:00Z', now), '3d4h');
});
