// The toolbox pod's resolv.conf names a nameserver that is not the cluster
// DNS service: nothing answers there.

const POD = 'default/toolbox';
const WRONG = '10.96.0.100';

export async function inject(ex) {
  const now = ex.readEtc(POD, 'resolv.conf');
  ex.writeEtc(POD, 'resolv.conf', now.replace(/^nameserver .*$/m, `nameserver ${WRONG}`));
}

export async function fix(ex) {
  // A pod of the same namespace and dnsPolicy has the resolv.conf the kubelet writes.
  ex.writeEtc(POD, 'resolv.conf', ex.readEtc(ex.pod('default/web', 'node2').key, 'resolv.conf'));
}

export function symptom(ex) {
  return [ex.probe.dns(POD, 'web'), ex.probe.dns(POD, 'api.shop')];
}

export async function wrongFix(ex) {
  const node = ex.readEtc('node/node2', 'resolv.conf').match(/^nameserver (\S+)$/m)[1];
  const now = ex.readEtc(POD, 'resolv.conf');
  ex.writeEtc(POD, 'resolv.conf', now.replace(/^nameserver .*$/m, `nameserver ${node}`));
}
