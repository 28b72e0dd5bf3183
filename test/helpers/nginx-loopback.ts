/**
 * The real nginx on loopback ports, for tests that hold the rendered
 * configuration against what nginx does: free ports, a request helper
 * that reports status, body, headers and certificate, throwaway
 * certificates, and an nginx started and always stopped with its test.
 */
import type { Test } from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer, isIP } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { requestHost } from '../../dist/components/ingress-nginx/match.js';
import type { NginxCert } from '../../dist/components/ingress-nginx/nginx-conf.js';

export const NGINX = '/usr/sbin/nginx';
export const HAVE_NGINX = existsSync(NGINX);

/** Ports this process has handed out: the kernel may give a closed port again, and two listens on one port make nginx route by Host alone. */
const handedOut = new Set<number>();

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A loopback port nothing listens on, never one this process was given before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unusedPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

export interface Reply {
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
  cn?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function get(scheme: 'http' | 'https', port: number, host: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const name = requestHost(host);
    const opts = { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host, ...options.headers }, agent: false as const, timeout: 5000 };
    const tls = { rejectUnauthorized: false, ...(isIP(name) ? {} : { servername: name }) };
    const req = scheme === 'http' ? httpRequest(opts) : httpsRequest({ ...opts, ...tls });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const subject = scheme === 'https' ? (res.socket as TLSSocket).getPeerCertificate().subject?.CN : undefined;
      const cn = Array.isArray(subject) ? subject.join(',') : subject;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers, ...(cn !== undefined ? { cn } : {}) }));
    });
    req.on('timeout', () => req.destroy(new Error(`${scheme}://${host}${path}: no answer`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export function makeCert(dir: string, name: string, cn: string, san: string): NginxCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${san}`, '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
  return { certFile, keyFile };
}

export async function waitHealthy(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}:\n${log()}`);
    try {
      const r = await get('http', port, 'health', '/healthz');
      if (r.status === 200 && r.body === 'ok') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not answer /healthz:\n${log()}`);
}

/** Starts nginx on `conf`; stopped (and waited for) at teardown whatever the assertions did. */
export async function startNginx(t: Test, dir: string, conf: string, healthPort: number): Promise<void> {
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  execFileSync(NGINX, ['-t', '-q', '-c', file, '-p', dir], { stdio: 'pipe' });
  let stderr = '';
  const proc = spawn(NGINX, ['-c', file, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  t.teardown(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  await waitHealthy(healthPort, proc, () => `${stderr}${existsSync(join(dir, 'error.log')) ? execFileSync('cat', [join(dir, 'error.log')]).toString() : ''}`);
}
