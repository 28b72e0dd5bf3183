// node1 loses the masquerade rule for pod traffic leaving the cluster: the
// outside server sees a pod IP it has no route back to.

const find = async (ex, node) => {
  const rules = await ex.rules(`node/${node}`, 'nat', 'FLANNEL-POSTRTG');
  const index = rules.findIndex((r) => r[0] === '-s' && r.includes('MASQUERADE'));
  return { index, rule: rules[index] };
};

export async function inject(ex) {
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-D', 'FLANNEL-POSTRTG', ...(await find(ex, 'node1')).rule]);
}

export async function fix(ex) {
  const { index, rule } = await find(ex, 'node2');
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-I', 'FLANNEL-POSTRTG', String(index + 1), ...rule]);
}

export function symptom(ex) {
  return [ex.probe.http(ex.pod('default/web', 'node1').key, ex.plan.internet.servers[0].ip, 80)];
}

const masq = ['-o', 'eth0', '-j', 'MASQUERADE'];

export async function wrongFix(ex) {
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-A', 'POSTROUTING', ...masq]);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-D', 'POSTROUTING', ...masq]);
}
