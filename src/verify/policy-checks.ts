/**
 * P11, generated from the policy engine (pure): for every pod a policy
 * isolates, one connection its policies allow and one they block, in each
 * direction it is isolated for, each named after the policy and rule that
 * decides it. The probes connect from inside the source's namespace with a
 * 1 s timeout: a blocked connection must get no answer at all (a drop).
 */
import { podParty, type Decision, type Direction, type Party } from '../components/network-policy/engine.js';
import type { Plan, PodPlan } from '../model/types.js';
import type { Check, Endpoint, Probe } from './checks.js';
import type { PolicyView } from './policy-view.js';

interface Port {
  port: number;
  protocol: 'TCP' | 'UDP';
}

/** The ports something listens on in the pod: every declared container port (a program's too, which answers TCP connects and DNS questions). */
function served(pod: PodPlan): Port[] {
  return pod.containers.flatMap((c) => c.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol })));
}

interface Candidate {
  from: Endpoint;
  fromKey: string;
  toKey: string;
  ip: string;
  port: Port;
  decision: Decision;
}

const podEnd = (p: PodPlan): Endpoint => ({ netns: p.netns, label: p.key });

function check(c: Candidate, direction: Direction, zone: string): Check {
  const verdict = c.decision[direction];
  const result = verdict.allowed ? 'allowed' : 'blocked';
  const probe: Probe = { kind: 'connect', from: c.from, ip: c.ip, port: c.port.port, protocol: c.port.protocol, expect: result, ...(c.port.protocol === 'UDP' ? { zone } : {}) };
  return { path: 'P11', name: `P11 ${c.fromKey} -> ${c.toKey}:${c.port.port}/${c.port.protocol} ${result}: ${verdict.reason}`, probes: [probe] };
}

/**
 * The first allowed and the first blocked candidate, the blocked one chosen,
 * where there is a choice, among those the other direction lets through, so
 * the check shows this direction's policy at work.
 */
function pick(candidates: Candidate[], direction: Direction, zone: string): Check[] {
  const other: Direction = direction === 'ingress' ? 'egress' : 'ingress';
  const allowed = candidates.find((c) => c.decision.allowed);
  const blocked = candidates.find((c) => !c.decision[direction].allowed && c.decision[other].allowed) ?? candidates.find((c) => !c.decision[direction].allowed);
  return [...(allowed ? [check(allowed, direction, zone)] : []), ...(blocked ? [check(blocked, direction, zone)] : [])];
}

export function policyChecks(plan: Plan, view: PolicyView): Check[] {
  if (!view.active) return [];
  const engine = view.engine;
  const pods = plan.pods.filter((p) => !p.hostNetwork);
  const checks: Check[] = [];
  for (const pod of pods) {
    const self = podParty(pod);
    if (engine.isolatedBy(pod, 'ingress').length) {
      const candidates = served(pod).flatMap((port) =>
        pods
          .filter((src) => src !== pod)
          .map((src) => ({ from: podEnd(src), fromKey: src.key, toKey: pod.key, ip: pod.ip, port, decision: engine.decide(podParty(src), self, port.port, port.protocol) })),
      );
      checks.push(...pick(candidates, 'ingress', plan.spec.clusterDomain));
    }
    if (engine.isolatedBy(pod, 'egress').length) {
      const toPods = pods.filter((dst) => dst !== pod).flatMap((dst) => served(dst).map((port) => ({ key: dst.key, ip: dst.ip, port, party: podParty(dst) as Party })));
      const toServers = plan.internet.servers.flatMap((s) => s.ports.map((port) => ({ key: s.name, ip: s.ip, port: { port, protocol: 'TCP' as const }, party: engine.partyAt(s.ip, s.name) })));
      const candidates = [...toPods, ...toServers].map((t) => ({ from: podEnd(pod), fromKey: pod.key, toKey: t.key, ip: t.ip, port: t.port, decision: engine.decide(self, t.party, t.port.port, t.port.protocol) }));
      checks.push(...pick(candidates, 'egress', plan.spec.clusterDomain));
    }
  }
  return checks;
}
