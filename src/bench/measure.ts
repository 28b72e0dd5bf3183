/** Timing and memory sampling for the benchmark. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { markedProcesses } from '../kernel/procs.js';

export interface Timed<T = void> {
  ms: number;
  value: T;
}

export async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** Runs a program to completion; rejects with its stderr when it fails. */
export function runToEnd(argv: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Memory of every process a lab started (agent, pause processes): the sum
 * of each one's peak resident set (VmHWM), an upper bound of their
 * combined peak.
 */
export function labMemory(owner: string): { processes: number; peakKb: number; rssKb: number } {
  const pids = markedProcesses((o) => o === owner).get(owner) ?? [];
  return {
    processes: pids.length,
    peakKb: pids.reduce((s, p) => s + statusKb(p, 'VmHWM'), 0),
    rssKb: pids.reduce((s, p) => s + statusKb(p, 'VmRSS'), 0),
  };
}
