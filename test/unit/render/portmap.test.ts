import t from 'tap';
import { planLab } from '../../../dist/model/plan.js';
import { podChain, renderPortmap } from '../../../dist/components/portmap/render.js';
import { labNamespaces } from '../../../dist/components/topology/render.js';
import { upStages } from '../../../dist/components/registry.js';
import { renderFiles } from '../../../dist/render/files.js';
import { ConfigError } from '../../../dist/util/errors.js';
import { labSpec, pod } from '../../helpers/spec.js';

const hp = pod('default', 'hp', { nodeName: 'node2', containers: [{ name: 'web', ports: [{ containerPort: 8080, protocol: 'TCP', hostPort: 8081 }, { containerPort: 53, protocol: 'UDP', hostPort: 53 }] }] });
const hn = pod('default', 'hn', { nodeName: 'node3', hostNetwork: true, containers: [{ name: 'agent', ports: [{ containerPort: 9100, protocol: 'TCP' }] }] });

t.test('hostPort: portmap chains on the pod node only, jumps once, hairpin and localhost masqueraded', async (t) => {
  const plan = planLab(labSpec({ pods: [hp, hn] }));
  const node2 = plan.nodes.find((n) => n.name === 'node2')!;
  const pod = plan.pods.find((p) => p.name === 'hp')!;
  const chain = podChain('t', pod);
  t.match(chain, /^CNI-DN-[0-9a-f]{17}$/);
  t.equal(
    renderPortmap(plan, node2, { jumps: true }),
    [
      '*nat',
      ':CNI-HOSTPORT-DNAT - [0:0]',
      ':CNI-HOSTPORT-SETMARK - [0:0]',
      ':CNI-HOSTPORT-MASQ - [0:0]',
      `:${chain} - [0:0]`,
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"default/hp\\"" -m multiport --dports 8081 -j ${chain}`,
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"cbr0\\" id: \\"default/hp\\"" -m multiport --dports 53 -j ${chain}`,
      `-A ${chain} -s ${pod.ip}/32 -p tcp -m tcp --dport 8081 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -s 127.0.0.1/32 -p tcp -m tcp --dport 8081 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p tcp -m tcp --dport 8081 -j DNAT --to-destination ${pod.ip}:8080`,
      `-A ${chain} -s ${pod.ip}/32 -p udp -m udp --dport 53 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -s 127.0.0.1/32 -p udp -m udp --dport 53 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p udp -m udp --dport 53 -j DNAT --to-destination ${pod.ip}:53`,
      'COMMIT',
      '',
    ].join('\n'),
  );
  const node1 = plan.nodes.find((n) => n.name === 'node1')!;
  t.notMatch(renderPortmap(plan, node1, { jumps: false }), /CNI-DN-|PREROUTING/, 'nothing for node1, no jumps on re-render');
  const gone = planLab(labSpec({ pods: [hn] }), plan);
  t.match(renderPortmap(gone, node2, { jumps: false, removed: [pod] }), new RegExp(`:${chain} - \\[0:0\\]\\n-X ${chain}\\n`), 'a removed pod takes its chain along');
});

t.test('hostNetwork: the node namespace and IP, no veth, no namespace or files of its own', async (t) => {
  const plan = planLab(labSpec({ pods: [hp, hn] }));
  const pod = plan.pods.find((p) => p.name === 'hn')!;
  t.match(pod, { netns: 't.node.node3', ip: '192.168.56.13', hostVeth: '', hostNetwork: true });
  t.notOk(labNamespaces(plan).includes('t.pod.default.hn'));
  const stages = upStages(plan).flat();
  t.notOk(stages.some((b) => b.netns === 't.node.node3' && b.lines.some((l) => l.startsWith('link add veth'))), 'no veth for hn on node3');
  t.notOk(renderFiles(plan).some((f) => f.path.includes('/t.pod.default.hn/')));
});

t.test('two pods cannot hold one host port of a node', async (t) => {
  const twin = { ...hp, name: 'hp2' };
  t.throws(() => planLab(labSpec({ pods: [hp, twin] })), { problems: [{ code: 'duplicate', message: /pod default\/hp2 needs host port 8081\/TCP on node node2, which pod default\/hp already holds/ }] });
  const onNode = pod('default', 'x', { nodeName: 'node3', containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 9100 }] }] });
  t.throws(() => planLab(labSpec({ pods: [hn, onNode] })), ConfigError, 'a hostNetwork pod holds its ports on the node');
});
