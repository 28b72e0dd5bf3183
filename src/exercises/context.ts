/**
 * What an exercise's fault.mjs gets to break and mend the lab with: the
 * plan to look names up in, and commands run inside a lab namespace as
 * argv arrays (never through a shell), each printed first the way a
 * learner would type it (`kube-netlab exec node/node2 -- sysctl -w ...`),
 * so `solve` doubles as the worked answer. Probes for the symptom are the
 * ones `verify` runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../kernel/exec.js';
import { netnsPath } from '../kernel/netns.js';
import { resolveTarget, type Target } from '../model/targets.js';
import type { NodePlan, Plan, PodPlan } from '../model/types.js';
import type { ServicePlan } from '../model/services.js';
import { NETNS_ETC } from '../render/files.js';
import { shellLine } from '../util/shell-words.js';
import type { Endpoint, Probe } from '../verify/checks.js';

/** The words of one `iptables-save` rule after `-A CHAIN`: double-quoted words (comments) become one word. */
export function ruleWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quoted = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '\\' && i + 1 < line.length) {
      word += line[++i];
    } else if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if (c === ' ' && !quoted) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (started) words.push(word);
  return words;
}

/** The rules of one chain in `iptables-save` text, each as its words. */
export function chainRules(save: string, chain: string): string[][] {
  const head = `-A ${chain} `;
  return save
    .split('\n')
    .filter((l) => l.startsWith(head))
    .map((l) => ruleWords(l.slice(head.length)));
}

export interface ExerciseContext {
  plan: Plan;
  node(name: string): NodePlan;
  /** `ns/name`, or `ns/owner` with the node it runs on (`ex.pod('shop/api', 'node2')`). */
  pod(ref: string, node?: string): PodPlan;
  service(ref: string): ServicePlan;
  /** Runs argv in the network namespace of `where` (a pod, `node/NAME`, `router`, `external`, ...); returns stdout, throws with stderr. */
  run(where: string, argv: string[]): Promise<string>;
  /** The rules of an iptables chain in `where`, each as the words `iptables -A CHAIN` takes after the chain name. */
  rules(where: string, table: string, chain: string): Promise<string[][]>;
  /** The one rule of a chain that `pick` chooses: its position (1-based, as `-I` and `-R` take it) and its words. */
  rule(where: string, table: string, chain: string, pick: (words: string[]) => boolean): Promise<{ position: number; words: string[] }>;
  /** /etc/FILE as processes in `where` see it (what `ip netns exec` mounts there). */
  readEtc(where: string, file: string): string;
  writeEtc(where: string, file: string, content: string): void;
  probe: {
    ping(from: string, ip: string): Probe;
    http(from: string, ip: string, port: number): Probe;
    bytes(from: string, ip: string, port: number, size: number): Probe;
    dns(from: string, name: string): Probe;
    unreachable(from: string, ip: string, port?: number): Probe;
    /** With DF set, a ping that fits the pod MTU crosses and one byte more is refused by the sender itself. */
    mtu(from: string, ip: string, mtu: number): Probe;
  };
}

export function exerciseContext(plan: Plan, log: (line: string) => void): ExerciseContext {
  const target = (where: string): Target => resolveTarget(plan, where);
  const end = (where: string): Endpoint => {
    const t = target(where);
    return { netns: t.netns, label: t.label };
  };
  const typed = (where: string, argv: string[]) => `kube-netlab exec --name ${plan.lab} ${shellLine([target(where).label, '--', ...argv])}`;
  const ctx: ExerciseContext = {
    plan,
    node(name) {
      const n = plan.nodes.find((x) => x.name === name);
      if (!n) throw new Error(`exercise: no node '${name}' in lab ${plan.lab}`);
      return n;
    },
    pod(ref, node) {
      const [namespace, name] = ref.split('/');
      const exact = plan.pods.find((p) => p.key === ref);
      if (exact && !node) return exact;
      const owned = plan.pods.filter((p) => p.namespace === namespace && (p.owner ? p.owner.name === name : p.name === name) && (!node || p.node === node));
      if (owned.length !== 1) throw new Error(`exercise: ${owned.length} pods match ${ref}${node ? ` on ${node}` : ''} in lab ${plan.lab}`);
      return owned[0]!;
    },
    service(ref) {
      const s = plan.services.find((x) => x.key === ref);
      if (!s) throw new Error(`exercise: no service ${ref} in lab ${plan.lab}`);
      return s;
    },
    async run(where, argv) {
      log(typed(where, argv));
      const r = await run(['nsenter', `--net=${netnsPath(target(where).netns)}`, '--', ...argv], { context: `exercise: ${typed(where, argv)}` });
      return r.stdout;
    },
    async rules(where, table, chain) {
      const r = await run(['nsenter', `--net=${netnsPath(target(where).netns)}`, '--', 'iptables-save', '-t', table], { context: `exercise: iptables-save -t ${table} in ${where}` });
      return chainRules(r.stdout, chain);
    },
    readEtc(where, file) {
      return readFileSync(join(NETNS_ETC, target(where).netns, file), 'utf8');
    },
    async rule(where, table, chain, pick) {
      const rules = await ctx.rules(where, table, chain);
      const index = rules.findIndex(pick);
      if (index < 0) throw new Error(`exercise: no rule of ${table} chain ${chain} in ${where} is the one the exercise looks for`);
      return { position: index + 1, words: rules[index]! };
    },
    writeEtc(where, file, content) {
      const t = target(where);
      log(`edit /etc/${file} in ${t.label} (kube-netlab exec --name ${plan.lab} ${t.label} -- vi /etc/${file})`);
      writeFileSync(join(NETNS_ETC, t.netns, file), content);
    },
    probe: {
      // Inside the lab an answer takes milliseconds; the grader need not wait as long as verify does for a loaded machine.
      ping: (from, ip) => ({ kind: 'ping', from: end(from), ip, waitSeconds: 1 }),
      http: (from, ip, port) => ({ kind: 'http', from: end(from), ip, port, expect: {}, timeoutMs: 1500 }),
      bytes: (from, ip, port, size) => ({ kind: 'bytes', from: end(from), ip, port, size }),
      dns: (from, name) => ({ kind: 'dns', from: end(from), name, type: 'A', search: true, tcp: false, expect: { rcode: 'NOERROR' } }),
      unreachable: (from, ip, port) => ({ kind: 'unreachable', from: end(from), ip, ...(port ? { port } : {}) }),
      // ICMP payload = MTU - 20 (IP) - 8 (ICMP).
      mtu: (from, ip, mtu) => ({ kind: 'mtu', from: end(from), ip, fits: mtu - 28, tooBig: mtu - 27 }),
    },
  };
  return ctx;
}
