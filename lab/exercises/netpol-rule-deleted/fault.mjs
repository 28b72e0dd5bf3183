// node3's policy chain of shop/shop-ingress loses the rule that allows the
// api pod on node1: the storefront pod on node3 drops its connections.

const source = (ex) => `${ex.pod('shop/api', 'node1').ip}/32`;

/** The policy chain on a node and the index of the rule for the api pod on node1. */
async function allow(ex, node) {
  const where = `node/${node}`;
  const pods = await ex.rules(where, 'filter', 'NETPOL-INGRESS');
  const podChain = pods.find((r) => r.includes(`${ex.pod('shop/storefront', node).ip}/32`)).at(-1);
  const chain = (await ex.rules(where, 'filter', podChain)).find((r) => r.at(-1).startsWith('NETPOL-POL-ING-')).at(-1);
  const rules = await ex.rules(where, 'filter', chain);
  return { chain, rules, index: rules.findIndex((r) => r.includes(source(ex))) };
}

export async function inject(ex) {
  const { chain, rules, index } = await allow(ex, 'node3');
  await ex.run('node/node3', ['iptables', '-t', 'filter', '-D', chain, ...rules[index]]);
}

export async function fix(ex) {
  // node1 has the same policy chain; its rule goes back at the same place.
  const { chain, rules, index } = await allow(ex, 'node1');
  await ex.run('node/node3', ['iptables', '-t', 'filter', '-I', chain, String(index + 1), ...rules[index]]);
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
