/**
 * Applying rendered kube-proxy rules inside a node's network namespace.
 * Both tools take the whole text on stdin and apply it as one transaction,
 * so a node never runs half a sync.
 */
import type { ProxyMode } from '../spec/lab.js';
import { run, type RunResult } from './exec.js';
import { netnsPath } from './netns.js';
import { libnftablesAvailable, nftRunInNetns, refreshNftCache } from './nft-context.js';

/** `iptables-restore --noflush`: only the chains the text declares are replaced. */
export function iptablesRestore(netns: string, text: string, context: string): Promise<RunResult> {
  return run(['iptables-restore', '--noflush', '--wait'], { context, input: text, netnsPath: netnsPath(netns) });
}

/** Cache refreshes scheduled after a commit, by namespace; a newer script replaces its namespace's. */
const refreshes = new Map<string, NodeJS.Immediate>();

/**
 * An `nft -f` script as one transaction: through a libnftables context kept
 * for the namespace (nft-context.ts), or, where the library does not load,
 * by the `nft` program. With `cacheProbe`, the context's cache is brought up
 * to date once the caller has its answer (refreshNftCache, on the next turn
 * of the event loop), so the next small change into a large table does not
 * start by reading the table again.
 */
export async function nftApply(netns: string, text: string, context: string, cacheProbe?: string): Promise<RunResult | undefined> {
  if (!libnftablesAvailable()) return run(['nft', '-f', '-'], { context, input: text, netnsPath: netnsPath(netns) });
  clearImmediate(refreshes.get(netns));
  refreshes.delete(netns);
  nftRunInNetns(netns, text, context);
  if (cacheProbe) {
    refreshes.set(
      netns,
      setImmediate(() => {
        refreshes.delete(netns);
        try {
          refreshNftCache(netns, cacheProbe);
        } catch {
          // Only a head start (the namespace may be gone): the next script reads what it needs itself.
        }
      }),
    );
  }
  return undefined;
}

/** Resolves once every cache refresh nftApply has scheduled so far has run. */
export function nftCachesRefreshed(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** kube-proxy's rules; `nftCacheProbe` as for nftApply. */
export function applyProxyRules(mode: ProxyMode, netns: string, text: string, context: string, nftCacheProbe?: string): Promise<RunResult | undefined> {
  return mode === 'iptables' ? iptablesRestore(netns, text, context) : nftApply(netns, text, context, nftCacheProbe);
}

/** `iptables-save -t TABLE` inside a node: what a controller must find before its first sync there. */
export async function iptablesSave(netns: string, table: string, context: string): Promise<string> {
  return (await run(['iptables-save', '-t', table], { context, netnsPath: netnsPath(netns) })).stdout;
}

/** A netfilter rule with its packet counter, as read back from the kernel. */
export interface CountedRule {
  /** `filter NETPOL-POD-ING-…` or `inet kube-netlab-netpol ingress-x/a`. */
  chain: string;
  /** The rule as the tool prints it (without the counter). */
  rule: string;
  comment?: string;
  packets: number;
}

/**
 * Every rule of the iptables filter table, or of one nft table, with its
 * packet count, for telling which rules a probe went through. Read-only.
 */
export async function readCountedRules(netns: string, mode: ProxyMode, nftTable: string, context: string): Promise<CountedRule[]> {
  if (mode === 'iptables') {
    const text = (await run(['iptables-save', '-c', '-t', 'filter'], { context, netnsPath: netnsPath(netns) })).stdout;
    return text.split('\n').flatMap((line) => {
      const m = /^\[(\d+):\d+\] -A (\S+) (.*)$/.exec(line);
      if (!m) return [];
      const comment = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(m[3]!);
      return [{ chain: `filter ${m[2]}`, rule: m[3]!, ...(comment ? { comment: comment[1] ?? comment[2] } : {}), packets: Number(m[1]) }];
    });
  }
  const r = await run(['nft', '-j', 'list', 'table', ...nftTable.split(' ')], { context, allowFailure: true, netnsPath: netnsPath(netns) });
  if (r.exitCode !== 0) return [];
  const items = (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables;
  return items.flatMap((item) => {
    const rule = item.rule as { family: string; table: string; chain: string; comment?: string; expr: Record<string, unknown>[] } | undefined;
    if (!rule) return [];
    const counter = rule.expr.find((e) => 'counter' in e)?.counter as { packets: number } | undefined;
    if (!counter) return [];
    const verdict = rule.expr.find((e) => 'accept' in e || 'drop' in e);
    return [{ chain: `${rule.family} ${rule.table} ${rule.chain}`, rule: verdict ? Object.keys(verdict)[0]! : 'counter', ...(rule.comment ? { comment: rule.comment } : {}), packets: counter.packets }];
  });
}
