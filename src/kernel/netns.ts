/**
 * Network namespaces and the batches run inside them. Every command is
 * scoped to its namespace (born inside it, or `nsenter --net=`): there is no
 * ambient "current namespace", and nothing here runs against the root
 * namespace except the creation and deletion of namespaces themselves.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { withNetns } from './ffi.js';
import type { NetnsBatch, Sysctl } from '../render/batch.js';
import { batchText } from '../render/batch.js';
import { CommandError } from '../util/errors.js';
import { mapLimit } from '../util/concurrency.js';
import { run } from './exec.js';

export const NETNS_DIR = '/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/**
 * argv that runs `argv` in `netns` as a process of that pod or node sees
 * the world: `ip netns exec` also bind-mounts /etc/netns/<netns>/ over
 * /etc, so resolv.conf and hosts are the namespace's own (nsenter does not).
 */
export function inNetnsEtc(netns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', netns, ...argv];
}

/** Names of all network namespaces `ip netns` knows, read without spawning. */
export function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

export async function createNamespaces(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await run(['ip', '-batch', '-'], {
    context: `create ${names.length} network namespaces`,
    input: names.map((n) => `netns add ${n}`).join('\n') + '\n',
  });
}

/** Deletes namespaces, carrying on past ones already gone (`-force`). */
export async function deleteNamespaces(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await run(['ip', '-force', '-batch', '-'], {
    context: `delete ${names.length} network namespaces`,
    input: names.map((n) => `netns del ${n}`).join('\n') + '\n',
    allowFailure: true,
  });
}

/** Runs one namespace's batch; a failure names the namespace and the failing line. */
export async function runBatch(batch: NetnsBatch): Promise<void> {
  const text = batchText(batch);
  try {
    const tool = batch.tool ?? 'ip';
    await run([tool, '-batch', '-'], { context: `configure ${batch.netns}`, input: text, netnsPath: netnsPath(batch.netns) });
  } catch (err) {
    if (err instanceof CommandError) {
      const m = /Command failed -:(\d+)/.exec(err.result.stderr);
      const line = m ? batch.lines[Number(m[1]) - 1] : undefined;
      if (line) err.message += `\n  failing line: ${batch.tool ?? 'ip'} -n ${batch.netns} ${line}`;
    }
    throw err;
  }
}

/** Runs a stage: batches of different namespaces, independent of each other, `concurrency` at a time. */
export async function runStage(stage: NetnsBatch[], concurrency: number): Promise<void> {
  await mapLimit(stage, concurrency, runBatch);
}

/**
 * Writes each namespace's sysctls under /proc/sys with this thread inside
 * the namespace (/proc/sys/net belongs to the writer's network namespace),
 * which costs no process per namespace. Keys are dotted, as sysctl(8)
 * takes them.
 */
export function applySysctls(sysctls: Sysctl[]): void {
  const byNs = new Map<string, Sysctl[]>();
  for (const s of sysctls) byNs.set(s.netns, [...(byNs.get(s.netns) ?? []), s]);
  for (const [netns, settings] of byNs) {
    withNetns(netnsPath(netns), () => {
      for (const s of settings) {
        const file = `/proc/sys/${s.key.replace(/\./g, '/')}`;
        try {
          writeFileSync(file, s.value);
        } catch (err) {
          throw new Error(`cannot set sysctl ${s.key}=${s.value} in ${netns} (${file}): ${(err as Error).message}`);
        }
      }
    });
  }
}

/**
 * The values of `keys` in one namespace, read the way applySysctls writes
 * them, with whitespace as sysctl(8) prints it (`0\t2147483647` reads
 * `0 2147483647`); an unreadable key reads ''. Undefined when the
 * namespace is gone.
 */
export function readSysctls(netns: string, keys: readonly string[]): Record<string, string> | undefined {
  if (!existsSync(netnsPath(netns))) return undefined;
  try {
    return withNetns(netnsPath(netns), () =>
      Object.fromEntries(
        keys.map((k) => {
          try {
            return [k, readFileSync(`/proc/sys/${k.replace(/\./g, '/')}`, 'utf8').trim().split(/\s+/).join(' ')];
          } catch {
            return [k, ''];
          }
        }),
      ),
    );
  } catch (err) {
    // Deleted between the look and the entry: as gone as before it.
    if (!existsSync(netnsPath(netns))) return undefined;
    throw err;
  }
}
