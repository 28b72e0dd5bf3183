/** What integration tests read of `trace -o json`, and what a trace must not leave behind. */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Plan } from '../../dist/model/types.js';

/** A NodePort of externalTrafficPolicy Cluster to add to the default lab (its own NodePorts keep the client address: Local). */
export const CLUSTER_NODEPORT = `---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30999}]
`;

export interface JsonHop {
  leg: number;
  direction: 'forward' | 'reply';
  netns: string;
  place: string;
  in?: string;
  out?: string;
  local: boolean;
  dropped?: string;
  misrouted?: string;
  packetIn: { saddr?: string; daddr?: string; dport?: number };
  packetOut: { saddr?: string; daddr?: string; dport?: number };
  rules: { family: string; table: string; chain: string; rule: string; comment?: string; verdict: string }[];
  objects: { what: string; text: string }[];
}

export interface JsonProbe {
  destination: { kind: string; ip: string; port: number };
  hops: JsonHop[];
  result: { answer?: string; refused: boolean };
  verdict: { outcome: string; place?: string; line: string };
}

export interface JsonTrace {
  probes: JsonProbe[];
  verdict: { outcome: string; place?: string; line: string };
}

/** Every network namespace of a lab (hostNetwork pods share their node's). */
export function labNamespaces(plan: Plan): string[] {
  return [
    plan.router.netns,
    plan.internet.netns,
    plan.internet.loadBalancer.netns,
    ...plan.internet.clients.map((c) => c.netns),
    ...plan.internet.servers.map((s) => s.netns),
    ...plan.nodes.map((n) => n.netns),
    ...plan.pods.filter((p) => !p.hostNetwork).map((p) => p.netns),
  ];
}

/** `nft monitor` processes running in these namespaces (another test's lab may trace at the same time). */
export function monitorsIn(namespaces: string[]): string[] {
  const inodes = new Set(namespaces.map((ns) => statSync(`/run/netns/${ns}`).ino));
  return spawnSync('pgrep', ['-f', 'nft -a monitor'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((pid) => {
      try {
        return pid !== '' && inodes.has(statSync(`/proc/${pid}/ns/net`).ino);
      } catch {
        return false; // Gone meanwhile.
      }
    });
}

/** What a trace left in a lab: trace tables and running monitors. */
export function traceLeftovers(plan: Plan): string[] {
  const namespaces = labNamespaces(plan);
  // One shell listing every namespace's tables at once (the names are arguments, never script text): a trace is
  // checked after each call, and one `ip netns exec` per namespace in turn took longer than the trace.
  const listed = spawnSync('sh', ['-c', 'for ns; do (nsenter --net="/run/netns/$ns" nft list tables | sed "s|^|$ns |") & done; wait', 'sh', ...namespaces], { encoding: 'utf8' }).stdout;
  const tables = [...new Set(listed.split('\n').filter((l) => l.includes('kube-netlab-trace')).map((l) => l.split(' ')[0]!))].sort().map((ns) => `trace table in ${ns}`);
  return [...tables, ...monitorsIn(namespaces).map((pid) => `monitor ${pid} still running`)];
}
