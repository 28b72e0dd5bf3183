/**
 * Rule texts and comments by handle, from `nft -a list ruleset` and
 * `iptables-save` of one namespace. nft prints the rules iptables-nft made
 * without their comments (an xtables match it cannot show), so those come
 * from iptables-save, matched by position in the chain. Pure.
 */

import { tidyRule } from './events.js';

export interface KnownRule {
  rule: string;
  comment?: string;
}

/** family/table/chain/handle → the rule. */
export type RuleIndex = Map<string, KnownRule>;

export const ruleKey = (family: string, table: string, chain: string, handle: number) => `${family}/${table}/${chain}/${handle}`;

/** `-A CHAIN …` lines of each table of an iptables-save text, in order: table → chain → rules. */
export function parseIptablesSave(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let table: Map<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = new Map();
      out.set(line.slice(1).trim(), table);
    } else if (line.startsWith('-A ') && table) {
      const chain = line.split(' ')[1]!;
      table.set(chain, [...(table.get(chain) ?? []), line]);
    }
  }
  return out;
}

export function iptablesComment(rule: string): string | undefined {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(rule);
  return m ? (m[1] ?? m[2])!.replace(/\\"/g, '"') : undefined;
}

/** The rules of a namespace by handle, with their comments. */
export function indexRules(nftText: string, iptablesSave = ''): RuleIndex {
  const saved = parseIptablesSave(iptablesSave);
  const out: RuleIndex = new Map();
  let family = '';
  let table = '';
  let chain = '';
  let position = 0;
  let inObject = false;
  for (const raw of nftText.split('\n')) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if (inObject) {
      if (line === '}') inObject = false;
    } else if (/^(set|map|flowtable|counter|quota|limit|ct \S+) \S+ \{/.test(line)) {
      inObject = true;
    } else if ((m = /^table (\S+) (\S+) \{/.exec(line))) {
      [family, table] = [m[1]!, m[2]!];
    } else if ((m = /^chain (\S+) \{/.exec(line))) {
      chain = m[1]!;
      position = 0;
    } else if ((m = /^(.*?)\s*# handle (\d+)$/.exec(line)) && chain && !/^(type|policy) /.test(line)) {
      const text = tidyRule(m[1]!);
      const handle = Number(m[2]);
      // An iptables-nft table: the same chain in iptables-save, rule for rule.
      const ipt = family === 'ip' ? saved.get(table)?.get(chain)?.[position] : undefined;
      const comment = ipt ? iptablesComment(ipt) : /\bcomment "((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
      out.set(ruleKey(family, table, chain, handle), { rule: ipt ?? text, ...(comment ? { comment } : {}) });
      position++;
    } else if (line === '}') {
      if (chain) chain = '';
      else table = '';
    }
  }
  return out;
}
