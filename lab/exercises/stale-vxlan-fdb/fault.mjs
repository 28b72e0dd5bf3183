// node1's fdb entry for node3's VTEP MAC points at node2's IP: encapsulated
// frames for node3 land on node2, whose flannel.1 drops them (not its MAC).

const fdb = (ex, dst) => [ex.node('node3').vtepMac, 'dev', 'flannel.1', 'dst', dst, 'self', 'permanent'];

export async function inject(ex) {
  await ex.run('node/node1', ['bridge', 'fdb', 'replace', ...fdb(ex, ex.node('node2').ip)]);
}

export async function fix(ex) {
  await ex.run('node/node1', ['bridge', 'fdb', 'replace', ...fdb(ex, ex.node('node3').ip)]);
}

export function symptom(ex) {
  const from = ex.pod('default/web', 'node1').key;
  return [ex.probe.ping(from, ex.pod('default/web', 'node3').ip), ex.probe.http(from, ex.pod('default/web', 'node3').ip, 8080)];
}

export async function wrongFix(ex) {
  await ex.run('node/node1', ['bridge', 'fdb', 'append', ...fdb(ex, ex.node('node3').ip)]);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node1', ['bridge', 'fdb', 'del', ex.node('node3').vtepMac, 'dev', 'flannel.1', 'dst', ex.node('node3').ip, 'self']);
}
