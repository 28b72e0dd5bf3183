// Bridged frames on node2 no longer pass iptables: a service reply from a
// pod to its neighbour on the same bridge skips the un-DNAT.

export async function inject(ex) {
  await ex.run('node/node2', ['sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=0']);
}

export async function fix(ex) {
  await ex.run('node/node2', ['sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=1']);
}

export function symptom(ex) {
  return [ex.probe.http('default/toolbox', ex.service('default/web-canary').clusterIP, 80)];
}

const masq = (ex) => ['-o', ex.node('node2').bridge, '-j', 'MASQUERADE'];

export async function wrongFix(ex) {
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-I', 'POSTROUTING', '1', ...masq(ex)]);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node2', ['iptables', '-t', 'nat', '-D', 'POSTROUTING', ...masq(ex)]);
}
