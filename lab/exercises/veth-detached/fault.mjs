// The toolbox pod's node-side veth leaves cbr0: the pod's frames reach the
// node but no bridge, no neighbour and no gateway.

const POD = 'default/toolbox';

export async function inject(ex) {
  await ex.run('node/node2', ['ip', 'link', 'set', ex.pod(POD).hostVeth, 'nomaster']);
}

export async function fix(ex) {
  const pod = ex.pod(POD);
  await ex.run('node/node2', ['ip', 'link', 'set', pod.hostVeth, 'master', ex.node(pod.node).bridge]);
  // Off a bridge a port loses its bridge settings; the kubelet's hairpin mode goes with it.
  await ex.run('node/node2', ['ip', 'link', 'set', pod.hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
}

export function symptom(ex) {
  return [ex.probe.ping(POD, ex.pod('default/web', 'node2').ip), ex.probe.http(POD, ex.pod('default/web', 'node1').ip, 8080)];
}

export async function wrongFix(ex) {
  const pod = ex.pod(POD);
  await ex.run('node/node2', ['ip', 'route', 'add', `${pod.ip}/32`, 'dev', pod.hostVeth]);
}

export async function undoWrongFix(ex) {
  const pod = ex.pod(POD);
  await ex.run('node/node2', ['ip', 'route', 'del', `${pod.ip}/32`, 'dev', pod.hostVeth]);
}
