/**
 * SCTP in the renderers' text (test/fixtures/netpol/render-lab.yaml has an
 * SCTP port in an ingress rule, beside a pod and an ipBlock peer, and an
 * egress rule for every SCTP port): SCTP is matched as SCTP, never as TCP or
 * UDP, in both modes. The texts themselves are compared in render.test.ts.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseLab } from '../../../../dist/config/index.js';
import { planLab } from '../../../../dist/model/plan.js';
import { compileNode } from '../../../../dist/components/network-policy/compile.js';
import { PolicyEngine } from '../../../../dist/components/network-policy/engine.js';
import { renderNetpolIptables } from '../../../../dist/components/network-policy/iptables.js';
import { renderNetpolNftables } from '../../../../dist/components/network-policy/nftables.js';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/netpol/${name}`, import.meta.url), 'utf8');
const plan = planLab(parseLab([{ file: 'render-lab.yaml', text: fixture('render-lab.yaml') }]));
const rules = compileNode(PolicyEngine.fromPlan(plan), plan.nodes.find((n) => n.name === 'node1')!);

t.test('iptables: SCTP rules use -p sctp and the sctp match, and no other rule does', async (t) => {
  const lines = renderNetpolIptables(rules).text.split('\n');
  const sctp = lines.filter((l) => /--comment "[^"]*SCTP[^"]*"/.test(l) && !l.includes(' except '));
  t.same(
    sctp.map((l) => l.replace(/^-A \S+ /, '').replace(/ -j .*$/, '')),
    [
      '-s 10.244.1.2/32 -p sctp -m comment --comment "x/web ingress[0].from[0] 3868/SCTP" -m sctp --dport 3868',
      '-s 203.0.113.0/24 -p sctp -m comment --comment "x/web ingress[0].from[1] 3868/SCTP" -m sctp --dport 3868',
      '-m comment --comment "x/web ingress[0].from[1] 3868/SCTP"',
      '-p sctp -m comment --comment "x/web egress[2] any SCTP port"',
    ],
    'the port on both peers (the ipBlock one through its except chain), and every port of SCTP',
  );
  for (const l of sctp) t.notMatch(l, /-p (tcp|udp)|-m (tcp|udp)/, `not TCP or UDP: ${l}`);
  for (const l of lines.filter((l) => / -p sctp|-m sctp/.test(l))) t.match(l, /SCTP/, `only SCTP rules match sctp: ${l}`);
});

t.test('nftables: SCTP rules use sctp dport or meta l4proto sctp', async (t) => {
  const lines = renderNetpolNftables(rules).split('\n').map((l) => l.trim());
  const sctp = lines.filter((l) => /comment "[^"]*SCTP[^"]*"/.test(l));
  t.same(sctp, [
    'ip saddr @x/web.ingress-0-from-0 sctp dport 3868 counter accept comment "x/web ingress[0].from[0] 3868/SCTP"',
    'ip saddr 203.0.113.0/24 ip saddr != { 203.0.113.128/25 } sctp dport 3868 counter accept comment "x/web ingress[0].from[1] 3868/SCTP"',
    'meta l4proto sctp counter accept comment "x/web egress[2] any SCTP port"',
  ]);
  for (const l of sctp) t.notMatch(l, /\b(tcp|udp) dport|l4proto (tcp|udp)/, `not TCP or UDP: ${l}`);
});
