// The ingress controller pod on node1 loses its default route: it reaches
// only its own node's pods and can answer no client outside them.

const POD = (ex) => ex.pod('ingress-nginx/ingress-nginx-controller', 'node1');

export async function inject(ex) {
  await ex.run(POD(ex).key, ['ip', 'route', 'del', 'default']);
}

export async function fix(ex) {
  await ex.run(POD(ex).key, ['ip', 'route', 'replace', 'default', 'via', POD(ex).gateway, 'dev', 'eth0']);
}

export function symptom(ex) {
  return [ex.probe.http(POD(ex).key, ex.pod('shop/api', 'node2').ip, 9000), ex.probe.ping(POD(ex).key, ex.plan.internet.clients[0].ip)];
}

const podNet = (ex) => ex.plan.spec.podNetwork.cidr;

export async function wrongFix(ex) {
  await ex.run(POD(ex).key, ['ip', 'route', 'add', podNet(ex), 'via', POD(ex).gateway, 'dev', 'eth0']);
}

export async function undoWrongFix(ex) {
  await ex.run(POD(ex).key, ['ip', 'route', 'del', podNet(ex), 'via', POD(ex).gateway, 'dev', 'eth0']);
}
