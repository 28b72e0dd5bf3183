/**
 * The lab CA when several controllers make it at once (the controller pods
 * of a lab start together, each its own process): every certificate they
 * sign verifies against the one `ca.crt` left in place, and `ca.key` is that
 * certificate's key. Runs the real openssl in separate processes; no root.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CERTS = fileURLToPath(new URL('../../../../src/components/ingress-nginx/certs.ts', import.meta.url));
/** The TypeScript loader this test runs under, for the child processes. */
const loader = process.execArgv.filter((a) => a.includes('typescript'));

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
