// The web pod on node3 gets MTU 1500 on eth0, larger than the overlay
// allows: its big packets are dropped at the veth without an ICMP error.

const POD = (ex) => ex.pod('default/web', 'node3');

export async function inject(ex) {
  await ex.run(POD(ex).key, ['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
}

export async function fix(ex) {
  await ex.run(POD(ex).key, ['ip', 'link', 'set', 'eth0', 'mtu', String(ex.node('node3').podMtu)]);
}

export function symptom(ex) {
  return [ex.probe.mtu(POD(ex).key, ex.pod('default/web', 'node1').ip, ex.node('node3').podMtu)];
}

export async function wrongFix(ex) {
  await ex.run('node/node3', ['ip', 'link', 'set', POD(ex).hostVeth, 'mtu', '1500']);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node3', ['ip', 'link', 'set', POD(ex).hostVeth, 'mtu', String(ex.node('node3').podMtu)]);
}
