// node1's endpoint rule for web-canary DNATs to port 8081, where the pod
// listens on nothing: the pod answers with a reset.

/** The KUBE-SEP chain of the web-canary service on a node, and the index of its DNAT rule. */
async function sep(ex, node) {
  const where = `node/${node}`;
  const services = await ex.rules(where, 'nat', 'KUBE-SERVICES');
  const svcChain = services.find((r) => r.includes('default/web-canary:http cluster IP')).at(-1);
  const chain = (await ex.rules(where, 'nat', svcChain)).find((r) => r.at(-1).startsWith('KUBE-SEP-')).at(-1);
  const rules = await ex.rules(where, 'nat', chain);
  const index = rules.findIndex((r) => r.includes('DNAT'));
  return { chain, rules, index };
}

const withPort = (words, port) => words.map((w, i) => (words[i - 1] === '--to-destination' ? w.replace(/:\d+$/, `:${port}`) : w));

export async function inject(ex) {
  const { chain, rules, index } = await sep(ex, 'node1');
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-R', chain, String(index + 1), ...withPort(rules[index], 8081)]);
}

export async function fix(ex) {
  const { chain, rules, index } = await sep(ex, 'node1');
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-R', chain, String(index + 1), ...withPort(rules[index], 8080)]);
}

export function symptom(ex) {
  return [ex.probe.http(ex.pod('default/web', 'node1').key, ex.service('default/web-canary').clusterIP, 80)];
}

export async function wrongFix(ex) {
  const { chain, rules, index } = await sep(ex, 'node1');
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-I', chain, '1', ...withPort(rules[index], 8080)]);
}

export async function undoWrongFix(ex) {
  const { chain } = await sep(ex, 'node1');
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-D', chain, '1']);
}
