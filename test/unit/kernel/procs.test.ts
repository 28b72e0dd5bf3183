/** The environment the lab's processes start with (pure). */
import t from 'tap';
import { LAB_ENV, labEnv } from '../../../dist/kernel/procs.js';

t.test('marked with the owner, the caller\'s environment otherwise, without the CA bundle Node would read at every start', async (t) => {
  const saved = process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = '/etc/ssl/certs/ca-certificates.crt';
  t.teardown(() => {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = saved;
  });
  const env = labEnv('lab-a:/run/kube-netlab/a', { EXTRA: '1' });
  t.equal(env[LAB_ENV], 'lab-a:/run/kube-netlab/a');
  t.equal(env.EXTRA, '1');
  t.equal(env.PATH, process.env.PATH);
  t.notOk('NODE_EXTRA_CA_CERTS' in env);
  t.equal(process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt', 'the caller\'s own is left alone');
});
