// node1 loses its route to node2's pod CIDR: packets for node2's pods go to
// node1's default route and are lost on the way.

export async function inject(ex) {
  await ex.run('node/node1', ['ip', 'route', 'del', ex.node('node2').podCIDR]);
}

export async function fix(ex) {
  await ex.run('node/node1', ['ip', 'route', 'replace', ex.node('node2').podCIDR, 'via', ex.node('node2').ip, 'dev', 'eth0']);
}

export function symptom(ex) {
  const from = ex.pod('default/web', 'node1').key;
  return [ex.probe.ping(from, ex.pod('default/web', 'node2').ip), ex.probe.http(from, ex.pod('default/web', 'node2').ip, 8080)];
}

export async function wrongFix(ex) {
  await ex.run('node/node1', ['ip', 'route', 'add', ex.node('node2').podCIDR, 'via', ex.node('node3').ip, 'dev', 'eth0']);
}
