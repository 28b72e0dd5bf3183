/**
 * The renderers' text, without root: a node's iptables-restore and nft
 * scripts for a policy with every kind of peer and port, compared with the
 * reviewed texts in test/fixtures/netpol/, plus the properties every render
 * must have (every jump goes to a declared chain, stale chains deleted,
 * nodes without isolated pods left bare).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseLab } from '../../../../dist/config/index.js';
import { planLab } from '../../../../dist/model/plan.js';
import { compileNode } from '../../../../dist/components/network-policy/compile.js';
import { PolicyEngine } from '../../../../dist/components/network-policy/engine.js';
import { netpolChainsIn, renderNetpolBootstrap, renderNetpolIptables } from '../../../../dist/components/network-policy/iptables.js';
import { renderNetpolNftables } from '../../../../dist/components/network-policy/nftables.js';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/netpol/${name}`, import.meta.url), 'utf8');
const plan = planLab(parseLab([{ file: 'render-lab.yaml', text: fixture('render-lab.yaml') }]));
const engine = PolicyEngine.fromPlan(plan);
const node = (name: string) => plan.nodes.find((n) => n.name === name)!;

t.test('iptables: the reviewed text of node1', async (t) => {
  t.equal(renderNetpolIptables(compileNode(engine, node('node1'))).text, fixture('render-node1.iptables'));
});

t.test('nftables: the reviewed text of node1', async (t) => {
  t.equal(renderNetpolNftables(compileNode(engine, node('node1'))), fixture('render-node1.nft'));
});

t.test('iptables: every jump goes to a chain the text declares, and every rule names its policy', async (t) => {
  const text = renderNetpolIptables(compileNode(engine, node('node1'))).text;
  const declared = new Set(netpolChainsIn(text));
  const targets = [...text.matchAll(/-j (NETPOL-[A-Z0-9-]+)/g)].map((m) => m[1]!);
  t.ok(targets.length >= 8, `${targets.length} jumps`);
  t.same(targets.filter((c) => !declared.has(c)), [], 'no jump to an undeclared chain');
  for (const line of text.split('\n').filter((l) => l.startsWith('-A NETPOL-POL-'))) t.match(line, /--comment "x\/web (ingress|egress)\[\d\]/, line);
  t.ok([...declared].every((c) => c.length <= 28), 'chain names fit iptables');
});

t.test('iptables: chains a previous sync made and this one does not need are deleted after the rest is written', async (t) => {
  const before = renderNetpolIptables(compileNode(engine, node('node1')));
  const bare = renderNetpolIptables(compileNode(engine, node('node2')), before.chains);
  t.same(bare.chains, ['NETPOL-FORWARD', 'NETPOL-EGRESS', 'NETPOL-INGRESS'], 'a node without isolated pods keeps only the dispatch chains');
  const lines = bare.text.split('\n');
  const deleted = lines.filter((l) => l.startsWith('-X ')).map((l) => l.slice(3));
  t.same(deleted.sort(), before.chains.filter((c) => !bare.chains.includes(c)).sort());
  for (const c of deleted) t.ok(lines.indexOf(`:${c} - [0:0]`) >= 0, `${c} is declared (flushed) before it is deleted`);
  t.notOk(lines.some((l) => l.startsWith('-A ')), 'and holds no rule: every connection is allowed');
});

t.test('nftables: a node without isolated pods gets no table', async (t) => {
  t.equal(renderNetpolNftables(compileNode(engine, node('node2'))), 'add table inet kube-netlab-netpol\ndelete table inet kube-netlab-netpol\n');
});

t.test('the bootstrap puts the policy first in FORWARD', async (t) => {
  t.equal(renderNetpolBootstrap(), '*filter\n:NETPOL-FORWARD - [0:0]\n-I FORWARD -m comment --comment "kube-netlab network policy" -j NETPOL-FORWARD\nCOMMIT\n');
});

t.test('renders are pure: the same input gives the same text', async (t) => {
  const again = PolicyEngine.fromPlan(plan);
  t.equal(renderNetpolIptables(compileNode(again, node('node1'))).text, renderNetpolIptables(compileNode(engine, node('node1'))).text);
  t.equal(renderNetpolNftables(compileNode(again, node('node1'))), renderNetpolNftables(compileNode(engine, node('node1'))));
});
