// node3's PREROUTING loses its jump to CNI-HOSTPORT-DNAT: packets from
// outside to node3:8081 are never DNATed to the edge pod.

const jump = (ex, node) => ex.rule(`node/${node}`, 'nat', 'PREROUTING', (r) => r.at(-1) === 'CNI-HOSTPORT-DNAT');

export async function inject(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-D', 'PREROUTING', ...(await jump(ex, 'node3')).words]);
}

export async function fix(ex) {
  const { position, words } = await jump(ex, 'node1');
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-I', 'PREROUTING', String(position), ...words]);
}

export function symptom(ex) {
  return [ex.probe.http('external', ex.node('node3').ip, 8081)];
}

const shortcut = (ex) => ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', `${ex.pod('default/edge').ip}:8080`];

export async function wrongFix(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-A', 'PREROUTING', ...shortcut(ex)]);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-D', 'PREROUTING', ...shortcut(ex)]);
}
