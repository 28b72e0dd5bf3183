// Someone gave the internet side a route to the service network through a
// node (the ClusterIP anti-pattern): the node's kube-proxy answers.

const SERVICES = (ex) => ex.plan.spec.serviceNetwork.cidr;
/** Each hop of the leak: where the route is, and its next hop. */
const hops = (ex) => [
  ['internet', ex.plan.internet.loadBalancer.ip],
  ['lb', ex.plan.router.uplink.ip],
  ['router', ex.node('node1').ip],
];

export async function inject(ex) {
  for (const [where, via] of hops(ex)) await ex.run(where, ['ip', 'route', 'add', SERVICES(ex), 'via', via]);
}

export async function fix(ex) {
  for (const [where] of hops(ex)) {
    if ((await ex.run(where, ['ip', 'route', 'show', SERVICES(ex)])).trim()) await ex.run(where, ['ip', 'route', 'del', SERVICES(ex)]);
  }
}

export function symptom(ex) {
  return [ex.probe.unreachable('external', ex.service('default/web').clusterIP, 80)];
}

export async function wrongFix(ex) {
  await ex.run('router', ['ip', 'route', 'del', SERVICES(ex)]);
}
