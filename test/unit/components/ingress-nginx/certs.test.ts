/**
 * The lab CA and its certificates when several processes make them at once
 * (the controller pods of a lab start together, each its own process, and
 * the agent makes its test server's): every certificate they sign verifies
 * against the one `ca.crt` left in place, `ca.key` is that certificate's
 * key, and a certificate asked for by all at once ends up with its own key.
 * Runs the real openssl in separate processes; no root.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CERTS = fileURLToPath(new URL('../../../../src/components/ingress-nginx/certs.ts', import.meta.url));
/** The TypeScript loader this test runs under, for the child processes. */
const loader = process.execArgv.filter((a) => /tsx|typescript/.test(a));

function makeCert(dir: string, host: string): Promise<string> {
  const script = `const { CertStore } = await import(${JSON.stringify(CERTS)}); const c = await new CertStore(${JSON.stringify(dir)}, 'race').generated([${JSON.stringify(host)}]); process.stdout.write(c.certFile);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

t.test('controllers starting together agree on one CA', { skip: loader.length ? false : 'needs the TypeScript loader tap runs under' }, async (t) => {
  const dir = t.testdir({});
  const certs = await Promise.all(Array.from({ length: 6 }, (_, i) => makeCert(dir, `h${i}.test`)));
  for (const file of certs) t.match(execFileSync('openssl', ['verify', '-CAfile', `${dir}/ingress/ca.crt`, file], { encoding: 'utf8' }), /: OK/, `${file} verifies`);
  const pub = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
  t.equal(pub(['pkey', '-in', `${dir}/ingress/ca.key`, '-pubout']), pub(['x509', '-in', `${dir}/ingress/ca.crt`, '-noout', '-pubkey']), 'ca.key belongs to ca.crt');
});

t.test('processes asking for the same certificate at once leave a key that belongs to it', { skip: loader.length ? false : 'needs the TypeScript loader tap runs under' }, async (t) => {
  const pub = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
  {
    const round = 0;
    const dir = t.testdir({});
    const certs = await Promise.all(Array.from({ length: 4 }, () => makeCert(dir, 'shop.example.com')));
    t.equal(new Set(certs).size, 1, 'one file for all');
    const cert = certs[0]!;
    t.equal(pub(['pkey', '-in', cert.replace(/\.crt$/, '.key'), '-pubout']), pub(['x509', '-in', cert, '-noout', '-pubkey']), `round ${round}: the key belongs to the certificate`);
    t.match(pub(['verify', '-CAfile', `${dir}/ingress/ca.crt`, cert]), /: OK/);
  }
});

t.test('calls of one process asking for the same certificate at once get a key that belongs to it', async (t) => {
  const { CertStore } = await import('../../../../dist/components/ingress-nginx/certs.js');
  const pub = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
  for (let round = 0; round < 3; round++) {
    const store = new CertStore(t.testdir({}), 'race');
    const certs = await Promise.all(Array.from({ length: 4 }, () => store.generated(['shop.example.com'])));
    const { certFile, keyFile } = certs[0]!;
    t.equal(pub(['pkey', '-in', keyFile, '-pubout']), pub(['x509', '-in', certFile, '-noout', '-pubkey']), `round ${round}: the key belongs to the certificate`);
  }
});
