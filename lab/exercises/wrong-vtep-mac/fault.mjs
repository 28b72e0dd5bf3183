// node2's neighbour entry for node1's VTEP carries a MAC node1 does not own:
// the frame reaches node1 and is dropped as someone else's.

const BOGUS = '0e:00:00:00:de:ad';
/** A node's VTEP address on flannel.1: the network address of its pod CIDR. */
const vtepIp = (ex, node) => ex.node(node).podCIDR.split('/')[0];

export async function inject(ex) {
  await ex.run('node/node2', ['ip', 'neigh', 'replace', vtepIp(ex, 'node1'), 'lladdr', BOGUS, 'dev', 'flannel.1', 'nud', 'permanent']);
}

export async function fix(ex) {
  await ex.run('node/node2', ['ip', 'neigh', 'replace', vtepIp(ex, 'node1'), 'lladdr', ex.node('node1').vtepMac, 'dev', 'flannel.1', 'nud', 'permanent']);
}

export function symptom(ex) {
  return [ex.probe.ping('default/toolbox', ex.pod('default/web', 'node1').ip), ex.probe.http('default/toolbox', ex.pod('default/web', 'node1').ip, 8080)];
}

export async function wrongFix(ex) {
  await ex.run('node/node2', ['bridge', 'fdb', 'append', BOGUS, 'dev', 'flannel.1', 'dst', ex.node('node1').ip, 'self', 'permanent']);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node2', ['bridge', 'fdb', 'del', BOGUS, 'dev', 'flannel.1', 'self']);
}
