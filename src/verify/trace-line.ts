/**
 * The `kube-netlab trace …` command that sends the probe a failed check
 * sent, so a failure points at the command that shows where the packet
 * went. Probes without one destination (files, daemons) have none, nor
 * lookups `trace` cannot make (it asks for an A record over UDP).
 */
import type { Plan } from '../model/types.js';
import { shellLine } from '../util/shell-words.js';
import type { Endpoint, Probe } from './checks.js';

/** A source as `trace` reads it: dns checks label theirs `pod ns/x`, trace takes the pod key. */
const source = (from: Endpoint) => from.label.replace(/^pod /, '');

/** A name `trace` takes for a DNS name (targets.ts): letters, digits, dots and hyphens, with at least one dot. */
const traceableName = (name: string) => /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.?$/i.test(name) && name.includes('.');

/**
 * trace sends no ICMP: a ping to a pod is followed as a connection to its
 * first TCP container port. A node, or a pod without a TCP port, has no
 * port to send to.
 */
function pingArgs(plan: Plan | undefined, from: string, ip: string): string[] | undefined {
  const pod = plan?.pods.find((p) => p.ip === ip && !p.hostNetwork);
  const port = pod?.containers.flatMap((c) => c.ports).find((p) => p.protocol === 'TCP')?.containerPort;
  return port === undefined ? undefined : [from, ip, '--port', String(port)];
}

/** `plan` tells which pod a pinged address is; without it, the lab's own plan is read (only for a ping). */
export function traceLine(lab: string, probe: Probe, plan?: Plan): string | undefined {
  if (!('from' in probe)) return undefined;
  const from = source(probe.from);
  let args: string[] | undefined;
  if (probe.kind === 'dns') {
    if (probe.tcp || (probe.type !== 'A' && probe.type !== 'CNAME') || !traceableName(probe.name)) return undefined;
    // trace looks the name up with the pod's search list; a query without it is for the name as written, absolute (and never an external server's name, which trace would connect to).
    const name = probe.search || probe.name.endsWith('.') ? probe.name : `${probe.name}.`;
    args = [from, name];
  } else if (!('ip' in probe)) {
    return undefined;
  } else if (probe.kind === 'ingress') {
    const standard = probe.port === (probe.scheme === 'https' ? 443 : 80);
    args = [from, `${probe.scheme}://${probe.host}${probe.path}`, ...(standard ? [] : ['--port', String(probe.port)])];
  } else if ('port' in probe && typeof probe.port === 'number') {
    const udp = probe.kind === 'udp-echo' || probe.kind === 'udp-silent' || (probe.kind === 'connect' && probe.protocol === 'UDP');
    args = [from, probe.ip, '--port', String(probe.port), ...(udp ? ['--udp'] : [])];
  } else if (probe.kind === 'ping') {
    args = pingArgs(plan, from, probe.ip);
  }
  return args ? shellLine(['kube-netlab', 'trace', ...args, '--name', lab]) : undefined;
}
