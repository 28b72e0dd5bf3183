/**
 * What `check` reads from /proc, without the agent's word for it: each
 * namespace's pause process (alive, and inside that namespace), and the
 * sockets the plan's containers listen on. `/proc/<pid>/net/{tcp,udp}[6]`
 * list the sockets of the network namespace `<pid>` is in, so the pause
 * process of a namespace is the window on its sockets (its TCP listeners
 * are asked from socket diagnostics in its namespace, which costs less).
 * Parsing and comparing are pure; `readProcs` is the one reader.
 */
import { readFile, stat } from 'node:fs/promises';
import { SyscallError } from '../kernel/ffi.js';
import { listeningTcpPorts } from '../kernel/sock-diag.js';
import type { Plan } from '../model/types.js';
import type { Difference } from './compare.js';

/** One namespace as /proc shows it through its pause process. */
export interface NetnsProcs {
  netns: string;
  pid: number;
  alive: boolean;
  /** The pid's network namespace is the lab's one of that name. */
  inNetns: boolean;
  /** Ports with a TCP socket in LISTEN. */
  tcp: ReadonlySet<number>;
  /** Ports with a bound UDP socket. */
  udp: ReadonlySet<number>;
}

/** The kernel's socket states, as /proc/net/tcp and udp print them. */
const UDP_BOUND = '07';

/** Local ports of the sockets in `state` in a /proc/net/{tcp,udp}[6] table. */
export function portsInState(text: string, state: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== state) continue;
    const port = Number.parseInt(f[1]!.slice(f[1]!.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port)) out.push(port);
  }
  return out;
}

/** The namespaces that must hold a pause process: what `up` starts one for. */
export function heldNamespaces(plan: Plan): string[] {
  return [
    ...plan.nodes.map((n) => n.netns),
    ...plan.pods.filter((p) => !p.hostNetwork).map((p) => p.netns),
    ...plan.internet.clients.map((c) => c.netns),
    ...plan.internet.servers.map((s) => s.netns),
  ];
}

export function procDifferences(plan: Plan, holders: Readonly<Record<string, number>>, procs: ReadonlyMap<string, NetnsProcs>, places: ReadonlyMap<string, string>): Difference[] {
  const out: Difference[] = [];
  const place = (netns: string) => places.get(netns) ?? netns;
  for (const netns of heldNamespaces(plan)) {
    const pid = holders[netns];
    const p = procs.get(netns);
    const object = pid === undefined ? 'pause process' : `pause process (pid ${pid})`;
    if (pid === undefined) out.push({ place: place(netns), component: 'kubelet', object, problem: 'none recorded; `up` starts one per namespace' });
    else if (!p?.alive) out.push({ place: place(netns), component: 'kubelet', object, problem: 'not running; nothing holds the namespace open' });
    else if (!p.inNetns) out.push({ place: place(netns), component: 'kubelet', object, problem: `in another network namespace than ${netns}` });
  }
  for (const pod of plan.pods) {
    // A pod on its way out closes its sockets by design.
    if (pod.terminating) continue;
    const p = procs.get(pod.netns);
    if (!p?.alive || !p.inNetns) continue;
    for (const c of pod.containers) {
      for (const port of c.ports) {
        const listening = port.protocol === 'TCP' ? p.tcp : p.udp;
        if (listening.has(port.containerPort)) continue;
        out.push({
          place: place(pod.netns),
          component: c.program ?? 'agent',
          object: `container ${c.name} socket ${port.protocol.toLowerCase()}/${port.containerPort}`,
          problem: port.protocol === 'TCP' ? 'not listening' : 'not bound',
        });
      }
    }
  }
  return out;
}

/**
 * The TCP listeners of the pid's namespace, from socket diagnostics:
 * /proc/<pid>/net/tcp would walk the machine's whole connection table for
 * every namespace. A process gone meanwhile has none.
 */
function tcpListeners(pid: number): number[] {
  try {
    return listeningTcpPorts(`/proc/${pid}/ns/net`);
  } catch (err) {
    if (err instanceof SyscallError && (err.code === 'ENOENT' || err.code === 'ESRCH')) return [];
    throw err;
  }
}

async function readOr(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** Every recorded pause process's state and its namespace's sockets, read at once. */
export async function readProcs(holders: Readonly<Record<string, number>>): Promise<Map<string, NetnsProcs>> {
  const entries = await Promise.all(
    Object.entries(holders).map(async ([netns, pid]): Promise<NetnsProcs> => {
      const [own, lab] = await Promise.all([stat(`/proc/${pid}/ns/net`).catch(() => undefined), stat(`/run/netns/${netns}`).catch(() => undefined)]);
      const alive = own !== undefined;
      const inNetns = alive && lab !== undefined && own.ino === lab.ino && own.dev === lab.dev;
      if (!inNetns) return { netns, pid, alive, inNetns, tcp: new Set(), udp: new Set() };
      const [udp, udp6] = await Promise.all([readOr(`/proc/${pid}/net/udp`), readOr(`/proc/${pid}/net/udp6`)]);
      return {
        netns,
        pid,
        alive,
        inNetns,
        tcp: new Set(tcpListeners(pid)),
        udp: new Set([...portsInState(udp, UDP_BOUND), ...portsInState(udp6, UDP_BOUND)]),
      };
    }),
  );
  return new Map(entries.map((e) => [e.netns, e]));
}
