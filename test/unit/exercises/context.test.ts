/** Rules as iptables-save prints them, split into the words `iptables -A CHAIN` takes back. */
import t from 'tap';
import { chainRules, ruleWords } from '../../../dist/exercises/context.js';

t.test('quoted comments stay one word, escaped quotes inside them too', async (t) => {
  t.same(ruleWords('-d 10.96.0.11/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-X'), [
    '-d', '10.96.0.11/32', '-p', 'tcp', '-m', 'comment', '--comment', 'default/web:http cluster IP', '-m', 'tcp', '--dport', '80', '-j', 'KUBE-SVC-X',
  ]);
  t.same(ruleWords('-p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"default/edge\\"" -j CNI-DN-1'), ['-p', 'tcp', '-m', 'comment', '--comment', 'dnat name: "cbr0" id: "default/edge"', '-j', 'CNI-DN-1']);
  t.same(ruleWords('-m comment --comment "" -j RETURN'), ['-m', 'comment', '--comment', '', '-j', 'RETURN'], 'an empty comment is a word');
});

t.test('the rules of one chain, in order', async (t) => {
  const save = ['*nat', ':KUBE-SERVICES - [0:0]', '-A KUBE-SERVICES -d 10.96.0.1/32 -j KUBE-SVC-A', '-A KUBE-SERVICES-X -j RETURN', '-A KUBE-SERVICES -j KUBE-NODEPORTS', 'COMMIT'].join('\n');
  t.same(chainRules(save, 'KUBE-SERVICES'), [['-d', '10.96.0.1/32', '-j', 'KUBE-SVC-A'], ['-j', 'KUBE-NODEPORTS']]);
});
