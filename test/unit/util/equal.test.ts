import t from 'tap';
import { deepEqual } from '../../../src/util/equal.js';

t.test('deepEqual agrees with comparing JSON texts on plain values', async (t) => {
  const port = { namespace: 'a', port: 80, endpoints: [{ ip: '10.0.0.1', isLocal: true }], loadBalancerIPs: [] as string[] };
  t.ok(deepEqual(port, structuredClone(port)));
  t.notOk(deepEqual(port, { ...port, port: 81 }));
  t.notOk(deepEqual(port, { ...port, endpoints: [{ ip: '10.0.0.1', isLocal: false }] }));
  t.notOk(deepEqual(port, { ...port, endpoints: [] }));
  t.notOk(deepEqual(port, { ...port, extra: 1 }), 'an added field');
  t.notOk(deepEqual({ ...port, affinity: 10 }, port), 'a removed field');
  t.notOk(deepEqual([1], { 0: 1 }), 'arrays are not objects');
  t.notOk(deepEqual({ 0: 1 }, [1]));
  t.notOk(deepEqual(null, {}));
  t.ok(deepEqual(undefined, undefined));
});
