/**
 * Captures on a node's eth0 while a probe runs, to show how the probe
 * crossed the node network: inside VXLAN, inside a UDP datagram, or bare.
 */
import { spawn } from 'node:child_process';
import { netnsPath } from '../kernel/netns.js';

export interface CaptureOptions {
  netns: string;
  device: string;
  /** tcpdump filter expression, as separate words. */
  filter: string[];
  count: number;
  timeoutMs: number;
}

/** Starts tcpdump, waits until it listens, runs `during`, and returns the pcap bytes. */
export async function captureWhile(opts: CaptureOptions, during: () => Promise<unknown>): Promise<Buffer> {
  const child = spawn(
    'nsenter',
    [`--net=${netnsPath(opts.netns)}`, '--', 'tcpdump', '-i', opts.device, '-n', '-U', '-s', '256', '-c', String(opts.count), '-w', '-', ...opts.filter],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump in ${opts.netns} did not start: ${stderr.trim()}`)), 5000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run tcpdump (apt-get install tcpdump): ${err.message}`));
    });
  });
  try {
    await during();
  } finally {
    const stop = setTimeout(() => child.kill('SIGINT'), opts.timeoutMs);
    await exited;
    clearTimeout(stop);
  }
  return Buffer.concat(chunks);
}
