/**
 * The `kube-netlab trace …` command that sends the probe a failed check
 * sent, so a failure points at the command that shows where the packet
 * went. Probes without one destination (files, daemons, DNS answers) have none.
 */
import { shellLine } from '../util/shell-words.js';
import type { Probe } from './checks.js';


export function traceLine(lab: string, probe: Probe): string | undefined {
  if (!('from' in probe) || !('ip' in probe)) return undefined;
  const from = probe.from.label;
  let args: string[];
  if (probe.kind === 'ingress') {
    const standard = probe.port === (probe.scheme === 'https' ? 443 : 80);
    args = [from, `${probe.scheme}://${probe.host}${probe.path}`, ...(standard ? [] : ['--port', String(probe.port)])];
  } else if ('port' in probe && typeof probe.port === 'number') {
    const udp = probe.kind === 'udp-echo' || probe.kind === 'udp-silent' || (probe.kind === 'connect' && probe.protocol === 'UDP');
    args = [from, probe.ip, '--port', String(probe.port), ...(udp ? ['--udp'] : [])];
  } else {
    return undefined;
  }
  return shellLine(['kube-netlab', 'trace', ...args, '--name', lab]);
}
