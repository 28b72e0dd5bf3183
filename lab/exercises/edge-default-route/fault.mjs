// The node network's router loses its default route: requests come in
// through the edge, answers have nowhere to go.

const EDGE = (ex) => ex.plan.internet.loadBalancer.ip;

export async function inject(ex) {
  await ex.run('router', ['ip', 'route', 'del', 'default']);
}

export async function fix(ex) {
  await ex.run('router', ['ip', 'route', 'replace', 'default', 'via', EDGE(ex), 'dev', ex.plan.router.uplink.device]);
}

export function symptom(ex) {
  const storefront = ex.service('shop/storefront');
  return [ex.probe.http('external', storefront.loadBalancerIP, 80), ex.probe.http(ex.pod('default/web', 'node1').key, ex.plan.internet.servers[0].ip, 80)];
}

const cidr = (ex) => ex.plan.spec.external.cidr;

export async function wrongFix(ex) {
  await ex.run('router', ['ip', 'route', 'add', cidr(ex), 'via', EDGE(ex), 'dev', ex.plan.router.uplink.device]);
}

export async function undoWrongFix(ex) {
  await ex.run('router', ['ip', 'route', 'del', cidr(ex), 'via', EDGE(ex), 'dev', ex.plan.router.uplink.device]);
}
