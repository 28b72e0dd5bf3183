// node2's KUBE-SERVICES loses the rule that matches the web ClusterIP: the
// packet is never DNATed and heads for the default route.

const COMMENT = 'default/web:http cluster IP';
const find = async (ex, node) => {
  const rules = await ex.rules(`node/${node}`, 'nat', 'KUBE-SERVICES');
  return { rules, index: rules.findIndex((r) => r.includes(COMMENT)) };
};

export async function inject(ex) {
  const { rules, index } = await find(ex, 'node2');
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-D', 'KUBE-SERVICES', ...rules[index]]);
}

export async function fix(ex) {
  // The rule as node1 has it, at the same position.
  const { rules, index } = await find(ex, 'node1');
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-I', 'KUBE-SERVICES', String(index + 1), ...rules[index]]);
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
