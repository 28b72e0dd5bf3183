/**
 * A container is the set of listening sockets of one container of one pod.
 * It runs no process: "killing" it closes its sockets and drops its
 * connections, and "restarting" it opens the same ports in the same pod
 * namespace again, after a backoff, as a kubelet would restart a process.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { SocketProtocol } from '../kernel/ffi.js';
import { nextBackoff } from './backoff.js';
import { serveHttpConnection, serveUdpEcho } from './http-server.js';
import type { Logger } from '../runtime/log.js';
import type { ContainerTarget } from './plan-targets.js';
import type { ContainerState, ContainerStatus } from './protocol.js';
import type { ServeContext } from './responses.js';

export interface ContainerDeps {
  /** Opens a socket bound to 0.0.0.0:port (listening for TCP) in the netns; returns the fd. */
  openSocket(netnsPath: string, proto: SocketProtocol, port: number): number;
  log: Logger;
  now?: () => number;
}

export const NETNS_DIR = '/run/netns';

type Listener = { kind: 'tcp'; server: Server } | { kind: 'udp'; socket: UdpSocket };

function isFatal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { fatal?: unknown }).fatal === true;
}

export class Container {
  state: ContainerState = 'waiting';
  restartCount = 0;
  lastError?: string;
  startedAt?: Date;

  private listeners: Listener[] = [];
  private readonly connections = new Set<Socket>();
  private timer?: NodeJS.Timeout;
  private restartAt?: number;
  private backoffSteps = 0;
  private hasRun = false;
  private stopped = false;

  constructor(
    readonly target: ContainerTarget,
    private readonly deps: ContainerDeps,
  ) {}

  get netnsPath(): string {
    return `${NETNS_DIR}/${this.target.netns}`;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private describe(): string {
    return `container ${this.target.container} of pod ${this.target.podKey}`;
  }

  /**
   * Opens every port, all or nothing. A port that cannot be opened leaves
   * the container waiting, retried with backoff; only a failure to return to
   * our own namespace is thrown, since the process must then stop.
   */
  start(): void {
    if (this.stopped || this.state === 'running') return;
    const fds: Array<{ fd: number; port: number; protocol: SocketProtocol }> = [];
    try {
      for (const p of this.target.ports) fds.push({ fd: this.deps.openSocket(this.netnsPath, p.protocol, p.port), ...p });
    } catch (err) {
      for (const { fd } of fds) closeSync(fd);
      if (isFatal(err)) throw err;
      this.wait(err as Error);
      return;
    }
    this.listeners = fds.map(({ fd, port, protocol }) => (protocol === 'TCP' ? this.serveTcp(fd, port) : this.serveUdp(fd, port)));
    if (this.hasRun) this.restartCount++;
    this.hasRun = true;
    this.state = 'running';
    this.lastError = undefined;
    this.startedAt = new Date(this.now());
    const ports = this.target.ports.map((p) => `${p.port}/${p.protocol}`).join(', ');
    this.deps.log(`${this.describe()} running in ${this.target.netns}${ports ? ` on ${ports}` : ' (no ports)'} (restarts: ${this.restartCount})`);
  }

  private context(port: number): ServeContext {
    const t = this.target;
    return { pod: t.pod, namespace: t.namespace, container: t.container, node: t.node, podIP: t.podIP, serverPort: port };
  }

  private serveTcp(fd: number, port: number): Listener {
    const ctx = this.context(port);
    const server = createServer((socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
      serveHttpConnection(socket, ctx);
    });
    server.on('error', (err) => this.deps.log(`${this.describe()}: TCP port ${port}: ${err.message}`));
    server.listen({ fd });
    return { kind: 'tcp', server };
  }

  private serveUdp(fd: number, port: number): Listener {
    const socket = createSocket('udp4');
    const onError = (err: Error) => this.deps.log(`${this.describe()}: UDP port ${port}: ${err.message}`);
    socket.on('error', onError);
    serveUdpEcho(socket, onError);
    socket.bind({ fd });
    return { kind: 'udp', socket };
  }

  private closeSockets(): void {
    for (const l of this.listeners) {
      try {
        if (l.kind === 'tcp') l.server.close();
        else l.socket.close();
      } catch {
        // Already closed.
      }
    }
    this.listeners = [];
    for (const c of this.connections) c.destroy();
    this.connections.clear();
  }

  private wait(err: Error): void {
    this.state = 'waiting';
    this.lastError = err.message;
    this.startedAt = undefined;
    const delay = this.scheduleRestart(0);
    this.deps.log(`${this.describe()} waiting, retry in ${delay} ms: ${err.message}`);
  }

  /** Arms the one restart timer; returns the delay. */
  private scheduleRestart(ranForMs: number): number {
    const next = nextBackoff(this.backoffSteps, ranForMs);
    this.backoffSteps = next.steps;
    this.restartAt = this.now() + next.delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.restartAt = undefined;
      this.start();
    }, next.delayMs);
    return next.delayMs;
  }

  /**
   * Closes the sockets and drops every connection, as if the process died;
   * the container comes back after its backoff. Returns the delay until then.
   */
  kill(reason: string): number {
    if (this.stopped) return 0;
    if (this.state === 'running') {
      const ranFor = this.startedAt ? this.now() - this.startedAt.getTime() : 0;
      this.closeSockets();
      this.state = 'terminated';
      this.startedAt = undefined;
      const delay = this.scheduleRestart(ranFor);
      this.deps.log(`${this.describe()} killed (${reason}), restart in ${delay} ms`);
      return delay;
    }
    // Already down: the pending restart stands.
    return Math.max(0, (this.restartAt ?? this.now()) - this.now());
  }

  /** Closes everything for good (pod removed from the plan, agent stopping). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.restartAt = undefined;
    this.closeSockets();
    this.state = 'terminated';
    this.startedAt = undefined;
  }

  status(): ContainerStatus {
    return {
      pod: this.target.podKey,
      container: this.target.container,
      state: this.state,
      restartCount: this.restartCount,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.startedAt ? { startedAt: this.startedAt.toISOString() } : {}),
      netns: this.target.netns,
      ports: this.target.ports.map((p) => `${p.port}/${p.protocol}`),
    };
  }
}
