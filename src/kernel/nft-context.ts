/**
 * nftables scripts applied through libnftables, the library behind `nft`,
 * with one context per network namespace kept for the life of the process
 * (the agent). The text is exactly what `nft -f` takes; what changes is
 * what it costs: a fresh `nft` process re-reads the whole ruleset before
 * every transaction, while a context keeps that cache and only checks the
 * ruleset's generation, so a one-rule change into a table of thousands of
 * chains is one netlink transaction.
 *
 * Each call runs synchronously with the main thread inside the namespace
 * (kernel/ffi.ts withNetns), so whenever libnftables opens its netlink
 * socket, it opens it there. A namespace made again under the same name
 * (another inode) gets a new context. When libnftables cannot be loaded,
 * callers fall back to the `nft` program.
 */
import { createRequire } from 'node:module';
import { nsInode, withNetns } from './ffi.js';
import { netnsPath } from './netns.js';

type Koffi = typeof import('koffi');

interface Libnftables {
  ctxNew(flags: number): unknown;
  ctxFree(ctx: unknown): void;
  bufferOutput(ctx: unknown): number;
  bufferError(ctx: unknown): number;
  errorBuffer(ctx: unknown): string | null;
  runFromBuffer(ctx: unknown, text: string): number;
  setDryRun(ctx: unknown, on: boolean): void;
}

/** A script libnftables refused: its own error text, as `nft -f` would print it. */
export class NftScriptError extends Error {
  constructor(
    readonly context: string,
    readonly netns: string,
    readonly stderr: string,
  ) {
    super(`${context}: libnftables refused the script in ${netns}${stderr.trim() ? `\n  ${stderr.trim().split('\n').join('\n  ')}` : ''}`);
    this.name = 'NftScriptError';
  }
}

let lib: Libnftables | null | undefined;

function load(): Libnftables | null {
  if (lib !== undefined) return lib;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const so = koffi.load('libnftables.so.1');
    koffi.opaque('nft_ctx');
    lib = {
      ctxNew: so.func('nft_ctx *nft_ctx_new(uint32_t flags)'),
      ctxFree: so.func('void nft_ctx_free(nft_ctx *ctx)'),
      bufferOutput: so.func('int nft_ctx_buffer_output(nft_ctx *ctx)'),
      bufferError: so.func('int nft_ctx_buffer_error(nft_ctx *ctx)'),
      errorBuffer: so.func('const char *nft_ctx_get_error_buffer(nft_ctx *ctx)'),
      runFromBuffer: so.func('int nft_run_cmd_from_buffer(nft_ctx *ctx, const char *buf)'),
      setDryRun: so.func('void nft_ctx_set_dry_run(nft_ctx *ctx, bool dry)'),
    };
  } catch {
    lib = null;
  }
  return lib;
}

/** Whether scripts can go through libnftables here (the library is installed and loads). */
export function libnftablesAvailable(): boolean {
  return load() !== null;
}

const contexts = new Map<string, { inode: number; ctx: unknown }>();

function contextFor(l: Libnftables, path: string): unknown {
  const inode = nsInode(path);
  const known = contexts.get(path);
  if (known?.inode === inode) return known.ctx;
  if (known) l.ctxFree(known.ctx);
  const ctx = withNetns(path, () => l.ctxNew(0));
  if (!ctx) throw new Error(`nft_ctx_new failed in ${path}`);
  // Output and errors go to buffers the caller reads, never to this process's stdout and stderr.
  l.bufferOutput(ctx);
  l.bufferError(ctx);
  contexts.set(path, { inode, ctx });
  return ctx;
}

/** Applies an `nft -f` script in the namespace as one transaction; throws NftScriptError with libnftables' message when it is refused. */
export function nftRunInNetns(netns: string, text: string, context: string): void {
  const l = load();
  if (!l) throw new Error('libnftables.so.1 cannot be loaded');
  const path = netnsPath(netns);
  const ctx = contextFor(l, path);
  const rc = withNetns(path, () => l.runFromBuffer(ctx, text));
  if (rc !== 0) throw new NftScriptError(context, netns, l.errorBuffer(ctx) ?? '');
}

/**
 * Brings the context's cache up to date with the kernel now, off the path of
 * the next change: libnftables drops its cache whenever the ruleset's
 * generation moved (every commit, its own included) and reads every chain
 * of the table again before the next script that needs them, which at
 * thousands of services is most of what a one-endpoint change costs. `probe`
 * is checked (dry run: evaluated, never committed), which fetches what such
 * a script needs.
 *
 * Two limits of libnftables 1.0.6's dry run shape how it is used: a table
 * or chain a dry run "adds" stays in the cache and is freed twice later,
 * and a refused dry run damages the library's memory (the process crashes
 * at exit). So the probe adds only a rule, into a chain the caller's own
 * script has just committed, and only the context that applied that script
 * to this very namespace is refreshed, never a new one.
 */
export function refreshNftCache(netns: string, probe: string): void {
  const l = load();
  const path = netnsPath(netns);
  const known = contexts.get(path);
  if (!l || !known || known.inode !== nsInode(path)) return;
  l.setDryRun(known.ctx, true);
  try {
    withNetns(path, () => l.runFromBuffer(known.ctx, probe));
  } finally {
    l.setDryRun(known.ctx, false);
  }
}

/** Frees every context (their netlink sockets close). */
export function closeNftContexts(): void {
  const l = load();
  for (const { ctx } of contexts.values()) l?.ctxFree(ctx);
  contexts.clear();
}
