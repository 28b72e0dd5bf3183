/**
 * flannel's `--ip-masq` rules (the kube-flannel manifest turns it on): pod
 * traffic that leaves the pod network is masqueraded to the node's address,
 * so a pod reaches the internet side (the upstream resolver, external
 * servers) although nothing there routes the pod CIDR. Pod-to-pod traffic,
 * and traffic kube-proxy already marked for masquerade, is left alone, so
 * a receiver still sees the sender's pod IP. Same chain names, order and
 * comments as flannel's iptables traffic manager; applied with
 * `iptables-restore --noflush`, once per fresh node, in either proxy mode.
 */
import { MASQUERADE_BIT } from '../../model/endpoints.js';
import type { NodePlan, Plan } from '../../model/types.js';

const MASQ = '-m comment --comment "flanneld masq"';
const FWD = '-m comment --comment "flanneld forward"';

export function renderIpMasq(plan: Plan, node: NodePlan): string {
  const cluster = plan.spec.podNetwork.cidr;
  const subnet = node.podCIDR;
  // Packets kube-proxy marked are masqueraded by KUBE-POSTROUTING already.
  const bit = `0x${(1 << MASQUERADE_BIT).toString(16)}`;
  const mark = `${bit}/${bit}`;
  return [
    '*nat',
    ':FLANNEL-POSTRTG - [0:0]',
    `-A POSTROUTING ${MASQ} -j FLANNEL-POSTRTG`,
    `-A FLANNEL-POSTRTG -m mark --mark ${mark} ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${subnet} -d ${cluster} ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${cluster} -d ${subnet} ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG ! -s ${cluster} -d ${subnet} ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${cluster} ! -d 224.0.0.0/4 ${MASQ} -j MASQUERADE --random-fully`,
    `-A FLANNEL-POSTRTG ! -s ${cluster} -d ${cluster} ${MASQ} -j MASQUERADE --random-fully`,
    'COMMIT',
    '*filter',
    ':FLANNEL-FWD - [0:0]',
    `-A FORWARD ${FWD} -j FLANNEL-FWD`,
    `-A FLANNEL-FWD -s ${cluster} ${FWD} -j ACCEPT`,
    `-A FLANNEL-FWD -d ${cluster} ${FWD} -j ACCEPT`,
    'COMMIT',
    '',
  ].join('\n');
}
