// node2's KUBE-SERVICES loses the rule that matches the web ClusterIP: the
// packet is never DNATed and heads for the default route.

const portal = (ex, node) => ex.rule(`node/${node}`, 'nat', 'KUBE-SERVICES', (r) => r.includes('default/web:http cluster IP'));

export async function inject(ex) {
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-D', 'KUBE-SERVICES', ...(await portal(ex, 'node2')).words]);
}

export async function fix(ex) {
  // The rule as node1 has it, at the same position.
  const { position, words } = await portal(ex, 'node1');
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-I', 'KUBE-SERVICES', String(position), ...words]);
}

export function symptom(ex) {
  return [ex.probe.http('default/toolbox', ex.service('default/web').clusterIP, 80)];
}

const shortcut = (ex) => ['-d', `${ex.service('default/web').clusterIP}/32`, '-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', `${ex.pod('default/web', 'node2').ip}:8080`];

export async function wrongFix(ex) {
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-I', 'PREROUTING', '1', ...shortcut(ex)]);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-D', 'PREROUTING', ...shortcut(ex)]);
}
