/**
 * Applying rendered kube-proxy rules inside a node's network namespace.
 * Both tools take the whole text on stdin and apply it as one transaction,
 * so a node never runs half a sync.
 */
import type { ProxyMode } from '../model/types.js';
import { run, type RunResult } from './exec.js';
import { netnsPath } from './netns.js';

const inNetns = (netns: string, argv: string[]) => ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv];

/** `iptables-restore --noflush`: only the chains the text declares are replaced. */
export function iptablesRestore(netns: string, text: string, context: string): Promise<RunResult> {
  return run(inNetns(netns, ['iptables-restore', '--noflush', '--wait']), { context, input: text });
}

/** `nft -f -`: the whole script is one transaction. */
export function nftApply(netns: string, text: string, context: string): Promise<RunResult> {
  return run(inNetns(netns, ['nft', '-f', '-']), { context, input: text });
}

export function applyProxyRules(mode: ProxyMode, netns: string, text: string, context: string): Promise<RunResult> {
  return mode === 'iptables' ? iptablesRestore(netns, text, context) : nftApply(netns, text, context);
}

/** `iptables-save -t TABLE` inside a node: what a controller must find before its first sync there. */
export async function iptablesSave(netns: string, table: string, context: string): Promise<string> {
  return (await run(inNetns(netns, ['iptables-save', '-t', table]), { context })).stdout;
}
