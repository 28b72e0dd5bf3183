// node1 loses the masquerade rule for pod traffic leaving the cluster: the
// outside server sees a pod IP it has no route back to.

/** The masquerade of pod traffic leaving the pod network (the one rule with a source and MASQUERADE). */
const masquerade = (ex, node) => ex.rule(`node/${node}`, 'nat', 'FLANNEL-POSTRTG', (r) => r[0] === '-s' && r.includes('MASQUERADE'));

export async function inject(ex) {
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-D', 'FLANNEL-POSTRTG', ...(await masquerade(ex, 'node1')).words]);
}

export async function fix(ex) {
  const { position, words } = await masquerade(ex, 'node2');
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-I', 'FLANNEL-POSTRTG', String(position), ...words]);
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
