// node1's endpoint rule for web-canary DNATs to port 8081, where the pod
// listens on nothing: the pod answers with a reset.

/** On node1: the KUBE-SEP chain of the web-canary service (its one endpoint), and its DNAT rule. */
async function dnat(ex) {
  const where = 'node/node1';
  const portal = await ex.rule(where, 'nat', 'KUBE-SERVICES', (r) => r.includes('default/web-canary:http cluster IP'));
  const endpoint = await ex.rule(where, 'nat', portal.words.at(-1), (r) => r.at(-1).startsWith('KUBE-SEP-'));
  const chain = endpoint.words.at(-1);
  return { chain, ...(await ex.rule(where, 'nat', chain, (r) => r.includes('DNAT'))) };
}

const withPort = (words, port) => words.map((w, i) => (words[i - 1] === '--to-destination' ? w.replace(/:\d+$/, `:${port}`) : w));

export async function inject(ex) {
  const { chain, position, words } = await dnat(ex);
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-R', chain, String(position), ...withPort(words, 8081)]);
}

export async function fix(ex) {
  const { chain, position, words } = await dnat(ex);
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-R', chain, String(position), ...withPort(words, 8080)]);
}

export function symptom(ex) {
  return [ex.probe.http(ex.pod('default/web', 'node1').key, ex.service('default/web-canary').clusterIP, 80)];
}

export async function wrongFix(ex) {
  const { chain, words } = await dnat(ex);
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-I', chain, '1', ...withPort(words, 8080)]);
}

export async function undoWrongFix(ex) {
  const { chain } = await dnat(ex);
  await ex.run('node/node1', ['iptables', '-t', 'nat', '-D', chain, '1']);
}
