/**
 * `check`'s reading of /proc, without root: recorded /proc/net tables and
 * pause-process states in, the differences out.
 */
import t from 'tap';
import { heldNamespaces, portsInState, procDifferences, type NetnsProcs } from '../../../dist/check/procfs.js';
import { differenceLine } from '../../../dist/check/compare.js';
import { placeNames } from '../../../dist/check/expected.js';
import { planLab } from '../../../dist/model/plan.js';
import { labSpec, pod } from '../../helpers/spec.js';

// As the kernel prints them: 127.0.0.1:8080 listening, a connection from it, and an unrelated listener on 9090.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100000A:1F90 0200000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 00000000:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 100 0 0 10 0
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:2328 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2 0000000000000000 0
`;

t.test('ports in a state, from IPv4 and IPv6 tables', async (t) => {
  t.same(portsInState(TCP, '0A'), [8080, 9090], 'LISTEN only, not the established connection');
  t.same(portsInState(TCP6, '0A'), [443]);
  t.same(portsInState(UDP, '07'), [9000]);
  t.same(portsInState('  sl  local_address\n', '0A'), [], 'an empty table');
});

const spec = labSpec({
  pods: [
    pod('default', 'web', { nodeName: 'node1', containers: [{ name: 'http', ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 9000, protocol: 'UDP' }] }] }),
    pod('default', 'api', { nodeName: 'node2' }),
  ],
});
const plan = planLab(spec);
const places = placeNames(plan);
const web = plan.pods.find((p) => p.key === 'default/web')!;
const api = plan.pods.find((p) => p.key === 'default/api')!;

function healthy(): { holders: Record<string, number>; procs: Map<string, NetnsProcs> } {
  const holders: Record<string, number> = {};
  const procs = new Map<string, NetnsProcs>();
  heldNamespaces(plan).forEach((netns, i) => {
    holders[netns] = 1000 + i;
    // Every port the pods of this namespace declare (a node's holds its hostNetwork pods').
    const ports = plan.pods.filter((p) => p.netns === netns).flatMap((p) => p.containers.flatMap((c) => c.ports));
    const of = (protocol: string) => new Set(ports.filter((p) => p.protocol === protocol).map((p) => p.containerPort));
    procs.set(netns, { netns, pid: 1000 + i, alive: true, inNetns: true, tcp: of('TCP'), udp: of('UDP') });
  });
  return { holders, procs };
}

t.test('a lab whose pause processes hold their namespaces and whose containers listen has no difference', async (t) => {
  const { holders, procs } = healthy();
  t.ok(heldNamespaces(plan).includes(web.netns) && heldNamespaces(plan).includes(plan.nodes[0]!.netns), 'nodes and pods are held');
  t.same(procDifferences(plan, holders, procs, places), []);
});

t.test('each problem is named by its place, component and object', async (t) => {
  const { holders, procs } = healthy();
  procs.set(web.netns, { ...procs.get(web.netns)!, udp: new Set() });
  procs.set(api.netns, { ...procs.get(api.netns)!, tcp: new Set([8081]) });
  const node2 = plan.nodes[1]!.netns;
  procs.set(node2, { ...procs.get(node2)!, alive: false });
  const node3 = plan.nodes[2]!.netns;
  procs.set(node3, { ...procs.get(node3)!, inNetns: false });
  const client = plan.internet.clients[0]!.netns;
  delete holders[client];
  const lines = procDifferences(plan, holders, procs, places).map(differenceLine);
  t.same(lines.sort(), [
    `${places.get(client)}  kubelet  pause process: none recorded; \`up\` starts one per namespace`,
    `node2  kubelet  pause process (pid ${holders[node2]}): not running; nothing holds the namespace open`,
    `node3  kubelet  pause process (pid ${holders[node3]}): in another network namespace than ${node3}`,
    `pod default/api  agent  container main socket tcp/8080: not listening`,
    `pod default/web  agent  container http socket udp/9000: not bound`,
  ].sort());
});

t.test('a terminating pod and a pod whose namespace cannot be read add no socket lines', async (t) => {
  const { holders, procs } = healthy();
  const leaving = { ...plan, pods: plan.pods.map((p) => (p.key === 'default/web' ? { ...p, terminating: true } : p)) };
  procs.set(web.netns, { ...procs.get(web.netns)!, tcp: new Set(), udp: new Set() });
  t.same(procDifferences(leaving, holders, procs, places), [], 'terminating: its sockets may close');
  procs.set(web.netns, { ...procs.get(web.netns)!, alive: false });
  t.same(procDifferences(plan, holders, procs, places).map(differenceLine), [`pod default/web  kubelet  pause process (pid ${holders[web.netns]}): not running; nothing holds the namespace open`], 'only the pause process, not its sockets');
});
