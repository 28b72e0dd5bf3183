/**
 * One connection attempt from inside a namespace, made by this process: a
 * socket created in the source's network namespace (setns, see
 * kernel/ffi.ts) and driven by Node like any other. Hundreds run at once
 * without a process each, so a whole truth table takes about one timeout.
 *
 * TCP: a completed handshake is a connection, a RST is `refused`, silence
 * until the timeout is `timeout` (what a policy drop looks like). UDP: a
 * DNS question is sent, which the lab's test server echoes and a DNS server
 * answers; any datagram back is a connection, an ICMP port unreachable is
 * `refused`.
 */
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import { openClientSocket } from '../kernel/ffi.js';
import { netnsPath } from '../kernel/netns.js';

export type Outcome = 'connected' | 'refused' | 'timeout' | 'unreachable' | 'error';

export interface ProbeOutcome {
  outcome: Outcome;
  ms: number;
  /** What happened, for reports: "connected in 2 ms", "no answer within 1000 ms", "ECONNREFUSED". */
  detail: string;
}

export interface ConnectProbe {
  /** The source's network namespace name. */
  netns: string;
  ip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  timeoutMs: number;
  /** The cluster's DNS zone: a UDP probe asks for its `dns-version` record, which a cluster DNS server answers itself, without forwarding. */
  zone?: string;
}

const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

function classify(code: string | undefined): Outcome {
  if (code === 'ECONNREFUSED') return 'refused';
  if (code && UNREACHABLE.has(code)) return 'unreachable';
  return 'error';
}

/** A question any DNS server of the cluster answers from its own zone, and the test server echoes back. */
const question = (zone: string) => dnsPacket.encode({ type: 'query', id: 0x6b6e, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'TXT', name: `dns-version.${zone}` }] });

/** The socket's fd in the source namespace, or the outcome that says why there is none. */
function open(p: ConnectProbe): number | ProbeOutcome {
  try {
    return openClientSocket(netnsPath(p.netns), p.protocol);
  } catch (err) {
    return { outcome: 'error', ms: 0, detail: (err as Error).message };
  }
}

/**
 * A timer for "no answer": when it fires, the loop first takes in whatever
 * I/O arrived meanwhile (an answer that came while the process was busy
 * starting other probes wins), then it decides.
 */
function answerTimer(ms: number, expire: () => void): NodeJS.Timeout {
  return setTimeout(() => setImmediate(expire), ms);
}

function tcp(p: ConnectProbe, fd: number, started: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = new Socket({ fd, readable: true, writable: true });
    let finished = false;
    const done = (outcome: Outcome, detail: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, ms: Math.round(performance.now() - started), detail });
    };
    const timer = answerTimer(p.timeoutMs, () => done('timeout', `no answer within ${p.timeoutMs} ms`));
    socket.once('connect', () => done('connected', `connected in ${Math.round(performance.now() - started)} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(classify(err.code), err.code ?? err.message));
    socket.connect({ port: p.port, host: p.ip });
  });
}

function udp(p: ConnectProbe, fd: number, started: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    let finished = false;
    const done = (outcome: Outcome, detail: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      resolve({ outcome, ms: Math.round(performance.now() - started), detail });
    };
    // Until the question is sent, only a stuck bind can time out; the answer's time counts from the send.
    let timer = answerTimer(p.timeoutMs * 3, () => done('error', `the socket was not ready to send within ${p.timeoutMs * 3} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(classify(err.code), err.code ?? err.message));
    socket.once('message', () => done('connected', `answered in ${Math.round(performance.now() - started)} ms`));
    socket.bind({ fd }, () => {
      // Connected, so an ICMP port unreachable comes back as ECONNREFUSED.
      socket.connect(p.port, p.ip, () => {
        if (finished) return;
        clearTimeout(timer);
        timer = answerTimer(p.timeoutMs, () => done('timeout', `no answer within ${p.timeoutMs} ms`));
        socket.send(question(p.zone ?? 'cluster.local'), (err) => err && done(classify((err as NodeJS.ErrnoException).code), err.message));
      });
    });
  });
}

export async function probeConnect(p: ConnectProbe): Promise<ProbeOutcome> {
  const started = performance.now();
  const fd = open(p);
  if (typeof fd !== 'number') return fd;
  return p.protocol === 'TCP' ? tcp(p, fd, started) : udp(p, fd, started);
}
