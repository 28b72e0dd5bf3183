/**
 * Runs probes with the real tools from inside the namespaces: `ping`,
 * `curl`. Probes enter only the network namespace (`nsenter --net`), which
 * is all a packet needs and much cheaper than a full `ip netns exec`.
 */
import { run } from '../kernel/exec.js';
import { netnsPath } from '../kernel/netns.js';
import type { Probe } from './checks.js';

export interface ProbeResult {
  ok: boolean;
  /** What was seen, for the report: "64 bytes from ...", "clientIP 10.244.1.2". */
  detail: string;
}

const inNetns = (netns: string, argv: string[]) => ['nsenter', `--net=${netnsPath(netns)}`, '--', ...argv];

async function ping(netns: string, ip: string, waitSeconds: number) {
  return run(inNetns(netns, ['ping', '-n', '-c', '1', '-W', String(waitSeconds), ip]), { context: `ping ${ip} from ${netns}`, allowFailure: true });
}

async function curl(netns: string, url: string, maxSeconds: number) {
  return run(inNetns(netns, ['curl', '-sS', '--max-time', String(maxSeconds), url]), { context: `curl ${url} from ${netns}`, allowFailure: true });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

export async function runProbe(probe: Probe): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'ping': {
      const r = await ping(probe.from.netns, probe.ip, 2);
      const reply = r.stdout.split('\n').find((l) => l.includes('bytes from')) ?? '';
      return r.exitCode === 0
        ? { ok: true, detail: `ping ${probe.ip}: ${reply.trim()}` }
        : { ok: false, detail: `ping ${probe.ip} from ${probe.from.label} got no reply: ${firstLine(r.stdout + r.stderr)}` };
    }
    case 'http': {
      const url = `http://${probe.ip}:${probe.port}/`;
      const r = await curl(probe.from.netns, url, 3);
      if (r.exitCode !== 0) return { ok: false, detail: `GET ${url} from ${probe.from.label} failed: ${firstLine(r.stderr) || `curl exit ${r.exitCode}`}` };
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(r.stdout) as Record<string, unknown>;
      } catch {
        return { ok: false, detail: `GET ${url} answered something that is not the test server's JSON: ${firstLine(r.stdout)}` };
      }
      const wrong = Object.entries(probe.expect).filter(([k, v]) => body[k] !== v);
      if (wrong.length) {
        return {
          ok: false,
          detail: `GET ${url} from ${probe.from.label}: ${wrong.map(([k, v]) => `${k} is ${JSON.stringify(body[k])}, expected ${JSON.stringify(v)}`).join('; ')}`,
        };
      }
      return { ok: true, detail: `GET ${url}: pod ${String(body.pod)} container ${String(body.container)} saw client ${String(body.clientIP)}` };
    }
    case 'unreachable': {
      const [p, c] = await Promise.all([
        ping(probe.from.netns, probe.ip, 1),
        probe.port ? curl(probe.from.netns, `http://${probe.ip}:${probe.port}/`, 2) : Promise.resolve(undefined),
      ]);
      if (p.exitCode === 0) return { ok: false, detail: `ping ${probe.ip} from ${probe.from.label} was answered; it must not be` };
      if (c && c.exitCode === 0) return { ok: false, detail: `GET http://${probe.ip}:${probe.port}/ from ${probe.from.label} was answered; it must not be` };
      return { ok: true, detail: `ping: ${firstLine(p.stdout.split('\n').slice(1).join('\n')) || 'no reply'}${c ? `; curl: ${firstLine(c.stderr)}` : ''}` };
    }
    case 'root-isolated': {
      return rootIsolated(probe.netns);
    }
  }
}

/**
 * Reads (never changes) the root namespace: a veth whose peer lives in one of
 * the lab's namespaces would be a path in from the host.
 */
async function rootIsolated(labNetns: string[]): Promise<ProbeResult> {
  const ids = await run(['ip', '-j', 'netns', 'list-id'], { context: 'list netns ids of the root namespace', allowFailure: true });
  const links = await run(['ip', '-j', 'link', 'show'], { context: 'list root namespace links' });
  const idToName = new Map<number, string>();
  try {
    for (const e of JSON.parse(ids.stdout || '[]') as { nsid: number; name?: string }[]) if (e.name) idToName.set(e.nsid, e.name);
  } catch {
    // Older iproute2 prints nothing useful; links alone still show peers by id.
  }
  const wanted = new Set(labNetns);
  const leaks = (JSON.parse(links.stdout) as { ifname: string; link_netnsid?: number }[]).filter(
    (l) => l.link_netnsid !== undefined && wanted.has(idToName.get(l.link_netnsid) ?? ''),
  );
  return leaks.length
    ? { ok: false, detail: `root namespace links into the lab: ${leaks.map((l) => `${l.ifname} -> ${idToName.get(l.link_netnsid!)}`).join(', ')}` }
    : { ok: true, detail: 'no root-namespace interface has its peer in a lab namespace' };
}
