// The web-canary pod's bridge port loses hairpin mode: its own service
// traffic, DNATed back to itself, may not leave through the port it came in.

const POD = 'default/web-canary';

export async function inject(ex) {
  await ex.run('node/node2', ['ip', 'link', 'set', ex.pod(POD).hostVeth, 'type', 'bridge_slave', 'hairpin', 'off']);
}

export async function fix(ex) {
  await ex.run('node/node2', ['ip', 'link', 'set', ex.pod(POD).hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
}

export function symptom(ex) {
  return [ex.probe.http(ex.pod(POD).key, ex.service(POD).clusterIP, 80)];
}

export async function wrongFix(ex) {
  await ex.run('node/node2', ['sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=0']);
}

export async function undoWrongFix(ex) {
  await ex.run('node/node2', ['sysctl', '-w', 'net.bridge.bridge-nf-call-iptables=1']);
}
