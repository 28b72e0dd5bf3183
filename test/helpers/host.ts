/**
 * Reads of the host's root namespace (never changes): what tests compare
 * before and after a lab, and what must be left after `down`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

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
  };
}

/** What is left of a lab on the machine: namespaces, processes, /etc/netns entries, run dir. */
export function leftovers(lab: string, runDir = '/run/kube-netlab'): string[] {
  const left: string[] = [];
  const prefix = `${lab}.`;
  const ls = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const ns of ls('/run/netns')) if (ns.startsWith(prefix)) left.push(`netns ${ns}`);
  for (const e of ls('/etc/netns')) if (e.startsWith(prefix)) left.push(`/etc/netns/${e}`);
  if (existsSync(`${runDir}/${lab}`)) left.push(`${runDir}/${lab}`);
  for (const pid of ls('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (env.split('\0').some((e) => e.startsWith(`KUBE_NETLAB_LAB=${lab}@`))) left.push(`process ${pid} marked for ${lab}`);
    } catch {
      // gone
    }
  }
  return left;
}
