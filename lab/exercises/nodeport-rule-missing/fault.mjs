// node3's KUBE-SERVICES loses its last rule, the jump to KUBE-NODEPORTS: no
// NodePort is translated on node3 any more.

const jump = (ex, node) => ex.rule(`node/${node}`, 'nat', 'KUBE-SERVICES', (r) => r.at(-1) === 'KUBE-NODEPORTS');

export async function inject(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-D', 'KUBE-SERVICES', ...(await jump(ex, 'node3')).words]);
}

export async function fix(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-A', 'KUBE-SERVICES', ...(await jump(ex, 'node1')).words]);
}

export function symptom(ex) {
  return [ex.probe.http('external', ex.node('node3').ip, 30001)];
}

const shortcut = (ex) => ['-p', 'tcp', '--dport', '30001', '-j', 'DNAT', '--to-destination', `${ex.pod('shop/storefront', 'node3').ip}:8080`];

export async function wrongFix(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-I', 'PREROUTING', '1', ...shortcut(ex)]);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'nat', '-D', 'PREROUTING', ...shortcut(ex)]);
}
