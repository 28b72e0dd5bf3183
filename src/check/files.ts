/**
 * The files the kubelet writes for a namespace (a pod's resolv.conf and
 * hosts, under /etc/netns/<netns>/, which `ip netns exec` mounts over /etc),
 * compared with what the plan renders. A pod with the wrong nameserver or
 * search list resolves nothing the way the cluster says, and only its file
 * shows why.
 */
import { readFile } from 'node:fs/promises';
import { NETNS_ETC } from '../render/files.js';
import type { RenderedFile } from '../render/batch.js';
import type { Difference } from './compare.js';

/** The first line that differs, as a user reads it: `line 1: "nameserver 10.96.0.11" (expected "nameserver 10.96.0.10")`. */
export function fileProblem(want: string, got: string | undefined): string | undefined {
  if (got === undefined) return 'missing';
  if (got === want) return undefined;
  const a = want.split('\n');
  const b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (a[i] === undefined || (i === a.length - 1 && a[i] === '')) return `line ${i + 1}: ${JSON.stringify(b[i])} not in the plan`;
    if (b[i] === undefined || (i === b.length - 1 && b[i] === '')) return `line ${i + 1}: missing (expected ${JSON.stringify(a[i])})`;
    return `line ${i + 1}: ${JSON.stringify(b[i])} (expected ${JSON.stringify(a[i])})`;
  }
  return 'differs';
}

/** The place of a file's namespace, and the file as a process inside it names it (`/etc/resolv.conf`). */
function whereIs(path: string, places: ReadonlyMap<string, string>): { place: string; object: string } {
  const rest = path.startsWith(`${NETNS_ETC}/`) ? path.slice(NETNS_ETC.length + 1) : path;
  const slash = rest.indexOf('/');
  if (slash < 0) return { place: 'lab', object: `file ${path}` };
  const netns = rest.slice(0, slash);
  return { place: places.get(netns) ?? netns, object: `file /etc/${rest.slice(slash + 1)}` };
}

export function compareFiles(expected: readonly { component: string; file: RenderedFile }[], found: ReadonlyMap<string, string | undefined>, places: ReadonlyMap<string, string>): Difference[] {
  const out: Difference[] = [];
  for (const { component, file } of expected) {
    const problem = fileProblem(file.content, found.get(file.path));
    if (problem) out.push({ ...whereIs(file.path, places), component, problem });
  }
  return out;
}

export async function readFiles(paths: readonly string[]): Promise<Map<string, string | undefined>> {
  const contents = await Promise.all(paths.map((p) => readFile(p, 'utf8').catch(() => undefined)));
  return new Map(paths.map((p, i) => [p, contents[i]]));
}
