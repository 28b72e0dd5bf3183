/**
 * Certificates for the ingress controller, made with `openssl` under the
 * run directory: a lab CA (clients trust it with `curl --cacert`), the
 * controller's default "fake" certificate, one certificate per tls entry
 * that names no Secret, and the PEM files of the Secrets that tls entries
 * name. Both controller pods (and the agent, for its test server) may ask
 * at once: a key and its certificate are made as one file under a temporary
 * name and hard-linked into place, so the first pair wins whole; the `.key`
 * and `.crt` files are cut from the pair that won, so they always belong
 * together whoever writes them.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../kernel/exec.js';
import { shortHash } from '../../model/names.js';
import type { TlsSecretSpec } from '../../spec/ingress.js';
import type { NginxCert } from './nginx-conf.js';

export const INGRESS_DIR = 'ingress';
export const CA_CERT = 'ca.crt';
/** ingress-nginx's name for the certificate it answers with when no tls entry matches. */
export const FAKE_CN = 'Kubernetes Ingress Controller Fake Certificate';
/** P-256 keys: made in milliseconds where RSA takes a good part of a second, and every client takes them. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

let made = 0;
/** A name part no other process or call uses: pid, a counter and the time. */
function unique(): string {
  return `${process.pid}.${++made}.${Date.now()}`;
}

/** Links `tmp` to `final` unless `final` exists already; the temporary name goes either way. */
function settle(tmp: string, final: string): void {
  try {
    linkSync(tmp, final);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export class CertStore {
  readonly dir: string;

  constructor(runDir: string, private readonly lab: string) {
    this.dir = join(runDir, INGRESS_DIR);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  get caFile(): string {
    return join(this.dir, CA_CERT);
  }

  /** The lab CA, made once however many processes ask at once. */
  private async ensureCA(): Promise<void> {
    const key = join(this.dir, 'ca.key');
    if (existsSync(this.caFile) && existsSync(key)) return;
    await this.pair(join(this.dir, 'ca'), { certFile: this.caFile, keyFile: key }, 'make the lab ingress CA', async (tmp) => {
      await run(['openssl', 'req', '-x509', ...EC_KEY, '-nodes', '-days', '3650', '-subj', `/CN=kube-netlab ${this.lab} ingress CA`, '-keyout', `${tmp}.key`, '-out', `${tmp}.crt`], {
        context: 'make the lab ingress CA',
      });
    });
  }

  /**
   * `make(tmp)` writes `<tmp>.key` and `<tmp>.crt`, unless `<base>.pem`
   * (key and certificate in one file) is in place already; the first pair
   * linked there wins, and `out`'s files are cut from it.
   */
  private async pair(base: string, out: NginxCert, what: string, make: (tmp: string) => Promise<void>): Promise<void> {
    const pair = `${base}.pem`;
    if (!existsSync(pair)) {
      const tmp = `${base}.${unique()}`;
      try {
        await make(tmp);
        writeFileSync(`${tmp}.pem`, readFileSync(`${tmp}.key`, 'utf8') + readFileSync(`${tmp}.crt`, 'utf8'), { mode: 0o600 });
        settle(`${tmp}.pem`, pair);
      } finally {
        for (const ext of ['key', 'crt', 'csr', 'pem']) rmSync(`${tmp}.${ext}`, { force: true });
      }
    }
    const pem = readFileSync(pair, 'utf8');
    const block = (label: RegExp) => pem.match(new RegExp(`-----BEGIN ${label.source}-----[\\s\\S]*?-----END ${label.source}-----\\n`))?.[0];
    const keyPem = block(/(?:EC )?PRIVATE KEY/);
    const certPem = block(/CERTIFICATE/);
    if (!keyPem || !certPem) throw new Error(`${pair} does not hold a key and a certificate (${what}); remove the lab's ingress directory and run \`up\` again`);
    const mine = unique();
    writeFileSync(`${out.keyFile}.${mine}`, keyPem, { mode: 0o600 });
    settle(`${out.keyFile}.${mine}`, out.keyFile);
    writeFileSync(`${out.certFile}.${mine}`, certPem);
    settle(`${out.certFile}.${mine}`, out.certFile);
  }

  /** A certificate for `hosts` (the first is the CN), signed by the lab CA. */
  async generated(hosts: string[], cn = hosts[0] ?? FAKE_CN): Promise<NginxCert> {
    await this.ensureCA();
    const base = join(this.dir, `gen-${shortHash(JSON.stringify([cn, ...hosts]), 12)}`);
    const out = { certFile: `${base}.crt`, keyFile: `${base}.key` };
    if (existsSync(out.certFile) && existsSync(out.keyFile)) return out;
    const what = `the certificate for ${hosts.join(', ') || cn}`;
    await this.pair(base, out, what, async (tmp) => {
      const san = hosts.length ? ['-addext', `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}`] : [];
      await run(['openssl', 'req', ...EC_KEY, '-nodes', '-subj', `/CN=${cn}`, ...san, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`], { context: `make a key for ${hosts.join(', ') || cn}` });
      await run(
        ['openssl', 'x509', '-req', '-in', `${tmp}.csr`, '-CA', this.caFile, '-CAkey', join(this.dir, 'ca.key'), '-set_serial', `0x${shortHash(tmp, 16)}`, '-days', '825', '-copy_extensions', 'copy', '-out', `${tmp}.crt`],
        { context: `sign ${what}` },
      );
    });
    return out;
  }

  /** The PEM files of a `kubernetes.io/tls` Secret, rewritten when its content changes. */
  secret(s: TlsSecretSpec): NginxCert {
    const out = secretFiles(this.dir, s);
    const base = out.certFile.slice(0, -'.crt'.length);
    if (!existsSync(out.certFile)) {
      writeFileSync(`${base}.key.${process.pid}`, s.key, { mode: 0o600 });
      settle(`${base}.key.${process.pid}`, out.keyFile);
      writeFileSync(`${base}.crt.${process.pid}`, s.cert);
      settle(`${base}.crt.${process.pid}`, out.certFile);
    }
    return out;
  }
}

/** Where a Secret's PEM files go under the ingress directory: named by content, so a changed Secret gets new files. */
export function secretFiles(dir: string, s: TlsSecretSpec): NginxCert {
  const base = join(dir, `secret-${shortHash(`${s.namespace}/${s.name}/${s.cert}/${s.key}`, 12)}`);
  return { certFile: `${base}.crt`, keyFile: `${base}.key` };
}
