// node3's policy chain of shop/shop-ingress loses the rule that allows the
// api pod on node1: the storefront pod on node3 drops its connections.

const source = (ex) => `${ex.pod('shop/api', 'node1').ip}/32`;

/** On a node: the policy chain the storefront pod there is checked against, and its rule for the api pod on node1. */
async function allow(ex, node) {
  const where = `node/${node}`;
  const pod = await ex.rule(where, 'filter', 'NETPOL-INGRESS', (r) => r.includes(`${ex.pod('shop/storefront', node).ip}/32`));
  const policy = await ex.rule(where, 'filter', pod.words.at(-1), (r) => r.at(-1).startsWith('NETPOL-POL-ING-'));
  const chain = policy.words.at(-1);
  return { chain, ...(await ex.rule(where, 'filter', chain, (r) => r.includes(source(ex)))) };
}

export async function inject(ex) {
  const { chain, words } = await allow(ex, 'node3');
  await ex.run('node/node3', ['iptables', '-t', 'filter', '-D', chain, ...words]);
}

export async function fix(ex) {
  // node1 has the same policy chain; its rule goes back at the same place.
  const { chain, position, words } = await allow(ex, 'node1');
  await ex.run('node/node3', ['iptables', '-t', 'filter', '-I', chain, String(position), ...words]);
}

export function symptom(ex) {
  return [ex.probe.http(ex.pod('shop/api', 'node1').key, ex.pod('shop/storefront', 'node3').ip, 8080)];
}

const open = (ex) => ['-d', `${ex.pod('shop/storefront', 'node3').ip}/32`, '-j', 'ACCEPT'];

export async function wrongFix(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'filter', '-I', 'FORWARD', '1', ...open(ex)]);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node3', ['iptables', '-t', 'filter', '-D', 'FORWARD', ...open(ex)]);
}
