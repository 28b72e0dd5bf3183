/** Timing and memory sampling for the benchmark. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { markedProcesses } from '../kernel/procs.js';

export interface Timed<T = void> {
  ms: number;
  value: T;
}

/**
 * The rule tool alone on a text, spawned directly inside `netns`: what any
 * program applying the same rules must pay, the baseline syncs are compared with.
 */
export function rawApply(netnsPath: string, mode: 'iptables' | 'nftables', text: string): Promise<number> {
  const argv = mode === 'iptables' ? ['iptables-restore', '--noflush', '--wait'] : ['nft', '-f', '-'];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', ...argv], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${argv.join(' ')}: ${err.trim()}`))));
    child.stdin.end(text);
  });
}

export async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** A line the program wrote to stderr, and when (ms after it was started). */
export interface StderrLine {
  atMs: number;
  text: string;
}

/**
 * Runs a program to completion; resolves with its stderr lines and when
 * each arrived (the CLI's progress lines mark its phases), rejects with its
 * stderr when it fails.
 */
export function runToEnd(argv: string[], env: Record<string, string> = {}): Promise<StderrLine[]> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    const lines: StderrLine[] = [];
    let partial = '';
    child.stderr.on('data', (d: Buffer) => {
      const atMs = performance.now() - started;
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ atMs, text });
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (partial) lines.push({ atMs: performance.now() - started, text: partial });
      if (code === 0) resolve(lines);
      else reject(new Error(`${argv.join(' ')} exited ${code}: ${lines.map((l) => l.text).join('\n').trim()}`));
    });
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

/** Proportional set size in kB (smaps_rollup): each shared page counted once, split over the processes that map it. */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Memory of every process a lab started (agent, daemons, pause processes).
 * PSS is what the lab really costs the machine: the Node.js code and the
 * pause binary that all processes share count once in total. The sums of
 * RSS and of each process's peak (VmHWM) count shared pages once per
 * process, so they overstate it many times over; they are kept as bounds.
 */
export function labMemory(owner: string): { processes: number; pssKb: number; peakKb: number; rssKb: number } {
  const pids = markedProcesses((o) => o === owner).get(owner) ?? [];
  return {
    processes: pids.length,
    pssKb: pids.reduce((s, p) => s + pssKb(p), 0),
    peakKb: pids.reduce((s, p) => s + statusKb(p, 'VmHWM'), 0),
    rssKb: pids.reduce((s, p) => s + statusKb(p, 'VmRSS'), 0),
  };
}
