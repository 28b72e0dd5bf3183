/**
 * Reads of the machine outside a lab (never changes anything): what the
 * tests and the soak compare before and after a lab, and what must be gone
 * after `down`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { runRoot } from '../apply/state.js';

function read(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    return `<${argv.join(' ')} failed: ${(err as Error).message.split('\n')[0]}>`;
  }
}

function sysctl(key: string): string {
  const path = `/proc/sys/${key.replace(/\./g, '/')}`;
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : '<absent>';
}

/** The address ranges a lab uses (pods, services, nodes, the internet side): none may appear in the root namespace's conntrack table. */
const LAB_ADDRESSES = /\b(10\.24[4-9]\.|10\.9[6-9]\.|192\.168\.56\.|203\.0\.113\.|198\.51\.100\.)/;

/** Entries of the root namespace's conntrack table that name a lab address (traffic of a lab that leaked into the root). */
function rootConntrack(): string {
  const out = read(['conntrack', '-L']);
  if (out.startsWith('<')) return out;
  return out
    .split('\n')
    .filter((l) => LAB_ADDRESSES.test(l))
    // Timeouts and counters move; the tuple is what says whose it is.
    .map((l) => l.replace(/^(\S+\s+\d+\s+)\d+\s+/, '$1').replace(/\b(packets|bytes)=\d+/g, ''))
    .sort()
    .join('\n');
}

/** Everything a lab must never change in the root namespace. */
export function rootSnapshot(): Record<string, string> {
  return {
    links: read(['ip', '-d', 'link', 'show']),
    addresses: read(['ip', 'addr', 'show']),
    routes: read(['ip', 'route', 'show', 'table', 'all']),
    rules: read(['ip', 'rule', 'show']),
    // Comment lines carry timestamps; counters move with unrelated traffic.
    iptables: read(['iptables-save']).split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n'),
    nft: read(['nft', 'list', 'ruleset']),
    sysctls: [
      'net.ipv4.ip_forward',
      'net.ipv4.conf.all.forwarding',
      'net.ipv4.conf.default.forwarding',
      'net.ipv6.conf.all.forwarding',
      'net.ipv4.conf.all.send_redirects',
      'net.bridge.bridge-nf-call-iptables',
    ]
      .map((k) => `${k}=${sysctl(k)}`)
      .join('\n'),
    conntrack: rootConntrack(),
  };
}

/** The keys of two snapshots that differ. */
export function snapshotDifferences(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
}

function ls(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * What is left of a lab on the machine: namespaces, their bind mounts,
 * /etc/netns entries, the run directory, and processes marked with the lab.
 */
export function leftovers(lab: string, runDir = runRoot()): string[] {
  const left: string[] = [];
  const prefix = `${lab}.`;
  for (const ns of ls('/run/netns')) if (ns.startsWith(prefix)) left.push(`netns ${ns}`);
  for (const e of ls('/etc/netns')) if (e.startsWith(prefix)) left.push(`/etc/netns/${e}`);
  if (existsSync(`${runDir}/${lab}`)) left.push(`${runDir}/${lab}`);
  // A namespace file whose bind mount outlived its name, or a mount left under the run directory.
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (point && (point.startsWith(`/run/netns/${prefix}`) || point.startsWith(`/etc/netns/${prefix}`) || point.startsWith(`${runDir}/${lab}/`) || point === `${runDir}/${lab}`)) left.push(`mount ${point}`);
  }
  for (const pid of ls('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (env.split('\0').some((e) => e.startsWith(`KUBE_NETLAB_LAB=${lab}@`))) left.push(`process ${pid} marked for ${lab} (${readFileSync(`/proc/${pid}/comm`, 'latin1').trim()})`);
    } catch {
      // gone
    }
  }
  return left;
}
