/**
 * `trace SRC DST`: resolve both ends, trace the DNS lookup first when DST is
 * a name, then the probe itself; print the hops in the order the packet
 * went and one verdict line.
 */
import type { Plan } from '../model/types.js';
import { LabNotFoundError } from '../util/errors.js';
import { hopLines, replyLine, type Verdict } from './hops.js';
import { traceProbe, type TracedProbe } from './run.js';
import { pathNamespaces, resolveDestination, resolveSource } from './targets.js';

export interface TraceResult {
  lab: string;
  /** The DNS lookup (when DST is a name), then the probe. */
  probes: TracedProbe[];
  verdict: Verdict;
}

export interface TraceOptions {
  port?: string | undefined;
  udp?: boolean;
}

function portOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new LabNotFoundError(`--port ${text}: a port is a number from 1 to 65535`);
  return n;
}

export async function traceCommandResult(plan: Plan, srcText: string, dstText: string, opts: TraceOptions = {}): Promise<TraceResult> {
  const port = portOf(opts.port);
  const src = resolveSource(plan, srcText);
  let dst = resolveDestination(plan, dstText, { ...(port !== undefined ? { port } : {}), udp: opts.udp === true });
  const probes: TracedProbe[] = [];
  if (dst.dnsName !== undefined) {
    // The lookup goes to the pod's nameserver (the cluster DNS) or the node's (the internet resolver): every DNS pod may answer.
    const dnsPods = plan.pods.filter((p) => p.containers.some((c) => c.program === 'cluster-dns'));
    const lookup = await traceProbe(plan, src, dst, pathNamespaces(plan, src, dst, dnsPods));
    probes.push(lookup);
    if (!lookup.resolved) {
      // Nothing to send the probe to: the trace ends with the lookup, as a refusal when the server answered, else where the query was lost.
      const answered = lookup.result.answer !== undefined;
      const line = `the name ${dst.dnsName} did not resolve (${lookup.result.answer ?? lookup.result.error ?? 'no answer'}); the query was ${lookup.verdict.line}`;
      return { lab: plan.lab, probes, verdict: { ...lookup.verdict, outcome: answered ? 'refused' : lookup.verdict.outcome, line } };
    }
    dst = { ...resolveDestination(plan, lookup.resolved, { ...(port !== undefined ? { port } : {}), udp: opts.udp === true }), label: `${dst.dnsName} (${lookup.resolved})` };
  }
  const main = await traceProbe(plan, src, dst, pathNamespaces(plan, src, dst));
  probes.push(main);
  return { lab: plan.lab, probes, verdict: main.verdict };
}

/** The text `trace` prints: per probe a header, the hops, the reply; the verdict last. */
export function formatTrace(r: TraceResult): string {
  const out: string[] = [];
  for (const p of r.probes) {
    // The probe that follows a lookup has the address as its destination; only the lookup keeps the name.
    const lookup = p.dst.dnsName !== undefined;
    out.push(`trace ${p.src.label} (${p.src.ip}) → ${lookup ? `DNS lookup of ${p.dst.dnsName}` : p.dst.label}, ${lookup ? 'udp' : p.dst.protocol} from local port ${p.localPort}`);
    out.push(`    probe: ${p.probe}`);
    let n = 0;
    // Connections are numbered as they appear: nginx's own to the backend is the second, whichever controller made it.
    const legs = [...new Set(p.hops.map((h) => h.leg))];
    for (const h of p.hops.filter((x) => x.direction === 'forward')) {
      if (p.flows.length > 1 && (n === 0 || p.hops.filter((x) => x.direction === 'forward')[n - 1]!.leg !== h.leg)) {
        const c = legs.indexOf(h.leg) + 1;
        out.push(h.leg === 1 ? `  connection ${c}: client → ingress-nginx` : `  connection ${c}: ingress-nginx (${p.flows[h.leg - 1]!.from?.ip}) → backend`);
      }
      out.push(...hopLines(h, ++n));
    }
    for (const l of legs) {
      const reply = replyLine(p.hops, l);
      if (reply) out.push(`    ${p.flows.length > 1 ? `connection ${legs.indexOf(l) + 1} ` : ''}${reply}`);
    }
    if (p !== r.probes.at(-1)) out.push(`    → ${p.result.answer ?? p.result.error ?? ''}`, '');
  }
  out.push(`verdict: ${r.verdict.line}`);
  return `${out.join('\n')}\n`;
}

export function traceJson(r: TraceResult): unknown {
  return {
    lab: r.lab,
    probes: r.probes.map((p) => ({
      source: { label: p.src.label, ip: p.src.ip, netns: p.src.netns },
      destination: { kind: p.dst.kind, label: p.dst.label, ip: p.dst.ip, port: p.dst.port, protocol: p.dst.protocol, ...(p.dst.dnsName ? { dnsName: p.dst.dnsName } : {}) },
      probe: p.probe,
      localPort: p.localPort,
      hops: p.hops,
      result: p.result,
      verdict: p.verdict,
      ...(p.resolved ? { resolved: p.resolved } : {}),
    })),
    verdict: r.verdict,
  };
}

