/**
 * Netfilter rules, compared chain by chain. Both sides are the tools' own
 * listing (`iptables-save`, `nft list`): the expected side is the rendered
 * rules loaded into a scratch namespace and listed back, so the two read
 * alike to the byte and a difference is a real one. Pure: counters are
 * dropped, set elements compared as sets, chains keyed by table.
 */

/** The rules of one chain (or the declaration of one nft set or map), in order. */
export interface Ruleset {
  /** `nat/KUBE-SERVICES`, `ip kube-proxy/chain services`, `inet t/set pods`. */
  key: string;
  /** What a user calls it: `nat chain KUBE-SERVICES`, `ip kube-proxy chain services`. */
  name: string;
  chain: string;
  /** A built-in iptables chain (its policy is compared, its rules may belong to several components). */
  builtin: boolean;
  policy?: string;
  lines: string[];
  /** Compared without order (set and map elements). */
  unordered?: boolean;
}

const BUILTIN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/** `iptables-save` text → its chains. */
export function parseIptablesSave(text: string): Map<string, Ruleset> {
  const out = new Map<string, Ruleset>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    else if (line.startsWith(':')) {
      const [chain = '', policy = '-'] = line.slice(1).split(' ');
      const builtin = BUILTIN.has(chain);
      out.set(`${table}/${chain}`, { key: `${table}/${chain}`, name: `${table} chain ${chain}`, chain, builtin, ...(builtin ? { policy } : {}), lines: [] });
    } else if (line.startsWith('-A ')) {
      const chain = line.slice(3).split(' ')[0]!;
      out.get(`${table}/${chain}`)?.lines.push(line.slice(4 + chain.length));
    }
  }
  return out;
}

/**
 * Top-level comma split of an nft element list (`{ a : goto x, b }`);
 * elements hold no commas of their own. Elements a packet added (they carry
 * `expires`, as kube-proxy's session-affinity sets do) are state, like
 * conntrack, not what the plan decides: they are left out.
 */
function elements(body: string): string[] {
  return body
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && !/ expires \S+$/.test(e));
}

/**
 * `nft list` text → its chains, sets and maps, only of the tables named.
 * Counters read as `counter`; a set's `elements = { … }` over several lines
 * becomes one sorted list.
 */
export function parseNftList(text: string, tables: ReadonlySet<string>): Map<string, Ruleset> {
  const out = new Map<string, Ruleset>();
  let table: string | undefined;
  let current: Ruleset | undefined;
  let collecting: string[] | undefined;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/counter packets \d+ bytes \d+/g, 'counter');
    if (!line) continue;
    if (collecting) {
      pending += ` ${line}`;
      if (pending.includes('}')) {
        collecting.push(...elements(pending.slice(0, pending.indexOf('}'))));
        collecting = undefined;
        pending = '';
      }
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^table (\S+ \S+) \{$/.exec(line))) {
      table = tables.has(m[1]!) ? m[1] : undefined;
      continue;
    }
    if (!table) continue;
    if ((m = /^(chain|set|map) (\S+) \{$/.exec(line))) {
      const key = `${table}/${m[1]} ${m[2]}`;
      current = { key, name: `${table} ${m[1]} ${m[2]}`, chain: m[2]!, builtin: false, lines: [], ...(m[1] !== 'chain' ? { unordered: true } : {}) };
      out.set(key, current);
      continue;
    }
    if (line === '}') {
      current = undefined;
      continue;
    }
    if (!current) continue;
    if ((m = /^elements = \{(.*)$/.exec(line))) {
      pending = m[1]!;
      if (pending.includes('}')) {
        current.lines.push(...elements(pending.slice(0, pending.indexOf('}'))));
        pending = '';
      } else collecting = current.lines;
      continue;
    }
    current.lines.push(line);
  }
  return out;
}

/** A difference in one chain, set or map. */
export interface RulesetDifference {
  key: string;
  name: string;
  chain: string;
  /** The rules that differ (for telling which component they belong to). */
  rules: string[];
  problem: string;
}

/** Rules or elements as a user reads them, one after another. */
const listed = (rules: string[]) => rules.join(' | ');
const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** What is in `a` and not in `b`, counting repeats. */
function minus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  return a.filter((x) => {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    return n === 0;
  });
}

function compareOne(want: Ruleset, got: Ruleset): string | undefined {
  const problems: string[] = [];
  if (want.builtin && want.policy !== got.policy) problems.push(`policy ${got.policy} (expected ${want.policy})`);
  const missing = minus(want.lines, got.lines);
  const extra = minus(got.lines, want.lines);
  const item = want.unordered ? 'element' : 'rule';
  if (missing.length === 1 && extra.length === 1) problems.push(`1 ${item} differs: ${listed(extra)} (expected ${listed(missing)})`);
  else {
    if (missing.length) problems.push(`${count(missing.length, item)} missing: ${listed(missing)}`);
    if (extra.length) problems.push(`${count(extra.length, item)} not in the plan: ${listed(extra)}`);
  }
  if (!missing.length && !extra.length && !want.unordered && want.lines.join('\n') !== got.lines.join('\n')) problems.push('rules out of order');
  return problems.length ? problems.join('; ') : undefined;
}

/**
 * Every chain, set and map that differs. A chain the plan has and the
 * kernel lacks is missing; one the kernel has and the plan does not is
 * named as not planned (an empty built-in chain with its default policy is
 * just the table's furniture).
 */
export function compareRulesets(expected: ReadonlyMap<string, Ruleset>, found: ReadonlyMap<string, Ruleset>): RulesetDifference[] {
  const out: RulesetDifference[] = [];
  for (const want of expected.values()) {
    const got = found.get(want.key);
    if (!got) {
      out.push({ key: want.key, name: want.name, chain: want.chain, rules: want.lines, problem: `missing (expected ${count(want.lines.length, want.unordered ? 'element' : 'rule')})` });
      continue;
    }
    const problem = compareOne(want, got);
    if (problem) out.push({ key: want.key, name: want.name, chain: want.chain, rules: [...minus(want.lines, got.lines), ...minus(got.lines, want.lines)], problem });
  }
  for (const got of found.values()) {
    if (expected.has(got.key)) continue;
    if (got.builtin) {
      const problems = [...(got.policy !== 'ACCEPT' ? [`policy ${got.policy} (expected ACCEPT)`] : []), ...(got.lines.length ? [`${count(got.lines.length, 'rule')} not in the plan: ${listed(got.lines)}`] : [])];
      if (problems.length) out.push({ key: got.key, name: got.name, chain: got.chain, rules: got.lines, problem: problems.join('; ') });
    } else out.push({ key: got.key, name: got.name, chain: got.chain, rules: got.lines, problem: `not in the plan (${count(got.lines.length, got.unordered ? 'element' : 'rule')})` });
  }
  return out;
}
