/**
 * Every node's netfilter rules, compared with what the plan renders. The
 * expected rules are the same texts `up` and the agent apply, in the same
 * order, loaded into a scratch network namespace (`unshare -n`, gone when
 * the process exits) and listed back by the same tools that list the node,
 * so both sides read alike. kube-proxy's rules follow the endpoints, which
 * follow readiness: they are compared with the readiness the agent reports.
 */
import { run } from '../kernel/exec.js';
import { netnsPath } from '../kernel/netns.js';
import type { NodePlan } from '../model/types.js';
import type { Component } from '../components/contract.js';
import { compareRulesets, parseIptablesSave, parseNftList, type Ruleset, type RulesetDifference } from './netfilter-compare.js';

/** The rules one node must hold: text for `iptables-restore --noflush` and for `nft -f`. */
export interface NodeNetfilter {
  node: NodePlan;
  iptables: string;
  nft: string;
  /** The nft tables the lab's components own (others, like iptables-nft's own, are read through iptables-save). */
  nftTables: readonly string[];
  /** Components whose rules are not compared now (kube-proxy while its sync is behind): their chains are left out on both sides. */
  skip: ReadonlySet<string>;
}

/** The component a chain, set or map belongs to: by chain prefix or nft table; a built-in chain's rule by its jump target. */
export function ownerOf(components: readonly Component[], key: string, rules: readonly string[]): string | undefined {
  const [where = '', what = ''] = key.split('/');
  const byTable = components.find((c) => c.netfilter?.nftTables?.includes(where));
  if (byTable) return byTable.name;
  const byChain = (chain: string) => components.find((c) => c.netfilter?.chains?.some((p) => chain.startsWith(p)))?.name;
  return byChain(what) ?? rules.map((r) => /-j (\S+)/.exec(r)?.[1] ?? '').map(byChain).find(Boolean);
}

async function listBack(iptables: string, nft: string, where: string): Promise<{ save: string; nft: string }> {
  const [save, list] = await Promise.all([
    run(['unshare', '--net', '--', 'sh', '-c', 'iptables-restore --noflush && iptables-save'], { input: iptables, context: `list the planned iptables rules of ${where} back in a scratch namespace` }),
    nft
      ? run(['unshare', '--net', '--', 'sh', '-c', 'nft -f - && nft list ruleset'], { input: nft, context: `list the planned nftables rules of ${where} back in a scratch namespace` })
      : Promise.resolve({ stdout: '' }),
  ]);
  return { save: save.stdout, nft: list.stdout };
}

async function readNode(netns: string, withNft: boolean): Promise<{ exists: boolean; save: string; nft: string }> {
  const save = await run(['iptables-save'], { allowFailure: true, context: `read the iptables rules of ${netns}`, netnsPath: netnsPath(netns) });
  if (save.exitCode !== 0) {
    // A namespace gone meanwhile cannot be entered (ENOENT), or nsenter says so where koffi is missing.
    if (/No such file|cannot open|reassociate/i.test(save.stderr)) return { exists: false, save: '', nft: '' };
    throw new Error(`iptables-save in ${netns} failed: ${save.stderr.trim()}`);
  }
  const nft = withNft ? await run(['nft', 'list', 'ruleset'], { allowFailure: true, context: `read the nftables rules of ${netns}`, netnsPath: netnsPath(netns) }) : { stdout: '' };
  return { exists: true, save: save.stdout, nft: nft.stdout };
}

export interface NetfilterDifference extends RulesetDifference {
  node: NodePlan;
  component: string;
}

/** Reads and compares every node's rules; nodes whose namespace is gone are left to the link checks, which name them. */
export async function checkNetfilter(nodes: readonly NodeNetfilter[], components: readonly Component[]): Promise<{ compared: number; differences: NetfilterDifference[] }> {
  const results = await Promise.all(
    nodes.map(async (n) => {
      const withNft = n.nftTables.length > 0;
      const [live, planned] = await Promise.all([readNode(n.node.netns, withNft), listBack(n.iptables, n.nft, `node ${n.node.name}`)]);
      if (!live.exists) return { compared: 0, differences: [] };
      const tables = new Set(n.nftTables);
      const owner = (r: Ruleset) => (r.builtin ? undefined : ownerOf(components, r.key, []));
      const kept = (all: Map<string, Ruleset>) => new Map([...all].filter(([, r]) => !n.skip.has(owner(r) ?? '')));
      const want = kept(new Map([...parseIptablesSave(planned.save), ...parseNftList(planned.nft, tables)]));
      const got = kept(new Map([...parseIptablesSave(live.save), ...parseNftList(live.nft, tables)]));
      return { compared: want.size, differences: compareRulesets(want, got).map((d) => ({ ...d, node: n.node, component: ownerOf(components, d.key, d.rules) ?? 'netfilter' })) };
    }),
  );
  return { compared: results.reduce((a, r) => a + r.compared, 0), differences: results.flatMap((r) => r.differences) };
}

