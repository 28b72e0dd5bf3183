/**
 * The udp backend's packet forwarder for one node, like flannel's udp
 * proxy: runs inside the node's network namespace, attached to its TUN
 * device flannel0 and to a UDP socket on <node IP>:<udp port>.
 *
 *   nsenter --net=/run/netns/<node netns> -- node dist/components/udp/main.js <runDir> --name overlay-udp/<node>
 *
 * Runs on the daemon runtime (runtime/daemon.ts): its config, the node's
 * forwarding table (its address, port and every peer's subnet), is
 * rendered by the component and reloaded when it changes (a node added or
 * removed). Counters go to its state file every 5 s when they changed, and
 * on SIGUSR1. Any failure of the TUN or the socket exits 1, for the agent
 * to restart it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../../runtime/log.js';
import { nsInode } from '../../kernel/ffi.js';
import { runDaemon, type DaemonContext } from '../../runtime/daemon.js';
import { Counters, dropsBetween, type CounterSnapshot } from './counters.js';
import { describePeerChanges, Forwarder, type Endpoint, type ForwardingConfig } from './forward.js';
import { destination, ipv4Problem, source } from './packet.js';
import { intToIp } from '../../util/addresses.js';
import { TunDevice } from './tun.js';
import { headerForTun, prepareForWire, type VnetHeader } from './vnet.js';

const TUN_DEVICE = 'flannel0';
const STATS_INTERVAL_MS = 5000;
/** Absorbs bursts while the event loop is busy with the other direction; the kernel caps it at rmem_max/wmem_max. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** Refuses to run anywhere but in the node's namespace: attaching there would touch another network. */
function checkNamespace(config: ForwardingConfig): void {
  const path = `/run/netns/${config.netns}`;
  let expected: number;
  try {
    expected = nsInode(path);
  } catch (err) {
    throw new Error(`the network namespace of node ${config.node} (${path}) is not there: ${(err as Error).message}; build the lab with \`up\` first`);
  }
  if (nsInode('/proc/self/ns/net') !== expected) {
    throw new Error(
      `this process is not in the network namespace of node ${config.node} (${path}); ` +
        `start it with: nsenter --net=${path} -- node <dist>/components/udp/main.js <runDir> --name overlay-udp/${config.node}`,
    );
  }
}

/**
 * Our ICMP errors come from flannel0's own address, and the kernel drops a
 * packet arriving with one of its own addresses as source (a martian)
 * unless the device accepts local sources. Only flannel0 of this node's
 * namespace is changed; checkNamespace() has made sure that is where we are.
 */
function acceptLocalSources(device: string): void {
  const path = `/proc/sys/net/ipv4/conf/${device}/accept_local`;
  try {
    if (readFileSync(path, 'utf8').trim() === '1') return;
    writeFileSync(path, '1');
    log(`set ${path} = 1, so the kernel takes our ICMP errors from ${device}'s own address`);
  } catch (err) {
    log(`cannot set ${path}: ${(err as Error).message}; the kernel will drop our ICMP net unreachable errors as martians`);
  }
}

const BIND_HINTS: Record<string, string> = {
  EADDRNOTAVAIL: 'the namespace has no such address; is the node\'s eth0 configured?',
  EADDRINUSE: 'another socket holds the port; is a second daemon running for this node?',
};

function bindSocket(listen: Endpoint): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES });
    const failed = (err: NodeJS.ErrnoException) => {
      socket.close();
      const hint = BIND_HINTS[err.code ?? ''];
      reject(new Error(`cannot bind UDP ${listen.ip}:${listen.port}: ${err.message}${hint ? `; ${hint}` : ''}`));
    };
    socket.once('error', failed);
    socket.bind({ address: listen.ip, port: listen.port, exclusive: true }, () => {
      socket.off('error', failed);
      resolve(socket);
    });
  });
}

const flow = (packet: Buffer): string =>
  ipv4Problem(packet) === undefined ? `${intToIp(source(packet))} -> ${intToIp(destination(packet))}` : `${packet.length} bytes`;

class OverlayDaemon {
  private readonly counters = new Counters();
  private forwarder: Forwarder;
  private socket?: Socket;
  private tun?: TunDevice;
  private timer?: NodeJS.Timeout;
  private lastWritten = '';
  private lastReported: CounterSnapshot;
  /** One example per drop reason since the last report, so the log says what was dropped. */
  private readonly examples = new Map<string, string>();
  private stopping = false;

  constructor(
    private readonly ctx: DaemonContext,
    private config: ForwardingConfig,
  ) {
    this.forwarder = new Forwarder(config);
    this.lastReported = this.counters.snapshot();
  }

  async start(): Promise<void> {
    checkNamespace(this.config);
    this.tun = TunDevice.open(TUN_DEVICE);
    log(`attached to ${TUN_DEVICE} (fd ${this.tun.fd}), ICMP errors from ${this.config.tunAddress}`);
    acceptLocalSources(TUN_DEVICE);
    this.attachSocket(await bindSocket(this.config.listen));
    log(`listening on udp ${this.config.listen.ip}:${this.config.listen.port}`);
    this.logPeers();
    this.tun.start(
      (packet, header) => this.fromTun(packet, header),
      (err) => this.fatal(err),
    );
    this.timer = setInterval(() => this.tick(), STATS_INTERVAL_MS);
    this.writeStats(true);
  }

  private attachSocket(socket: Socket): void {
    this.socket = socket;
    socket.on('message', (datagram) => this.fromUdp(datagram));
    socket.on('error', (err) => {
      if (this.socket === socket) this.fatal(new Error(`UDP socket ${this.config.listen.ip}:${this.config.listen.port}: ${err.message}`));
    });
  }

  private logPeers(): void {
    const peers = this.config.peers.map((p) => `${p.subnet} -> ${p.node} ${p.endpoint.ip}:${p.endpoint.port}`);
    log(`routes: ${peers.length ? peers.join(', ') : 'none (no other node)'}`);
  }

  private dropped(reason: string, example: () => string): void {
    this.counters.drop(reason);
    if (!this.examples.has(reason)) this.examples.set(reason, example());
  }

  private fromTun(packet: Buffer, header: VnetHeader): void {
    if (prepareForWire(header, packet, this.config.mtu)) this.counters.superPackets++;
    const verdict = this.forwarder.fromTun(packet);
    switch (verdict.action) {
      case 'send': {
        const { payload, to } = verdict;
        this.socket!.send(payload, to.port, to.ip, (err) => {
          if (err) {
            this.dropped('send-failed', () => `${flow(payload)} to ${to.ip}:${to.port}: ${err.message}`);
          } else {
            this.counters.tunToUdp.packets++;
            this.counters.tunToUdp.bytes += payload.length;
          }
        });
        return;
      }
      case 'reply':
        this.dropped(verdict.reason, () => `${flow(packet)}, answered with ICMP net unreachable`);
        if (this.writeTun(verdict.packet)) this.counters.icmpUnreachableSent++;
        return;
      case 'drop':
        this.dropped(verdict.reason, () => `${flow(packet)}${verdict.detail ? ` (${verdict.detail})` : ''}`);
        return;
    }
  }

  private fromUdp(datagram: Buffer): void {
    const verdict = this.forwarder.fromUdp(datagram);
    if (verdict.action === 'drop') {
      this.dropped(verdict.reason, () => `from udp: ${flow(datagram)}`);
      return;
    }
    if (this.writeTun(verdict.packet)) {
      this.counters.udpToTun.packets++;
      this.counters.udpToTun.bytes += verdict.packet.length;
    }
  }

  private writeTun(packet: Buffer): boolean {
    try {
      this.tun!.write(packet, headerForTun(packet, this.config.mtu));
      return true;
    } catch (err) {
      this.dropped('tun-write-failed', () => `${flow(packet)}: ${(err as Error).message}`);
      return false;
    }
  }

  private tick(): void {
    const now = this.counters.snapshot();
    const drops = dropsBetween(this.lastReported, now);
    if (drops) {
      const examples = [...this.examples.entries()].map(([reason, ex]) => `${reason}: ${ex}`).join('; ');
      log(`dropped in the last ${STATS_INTERVAL_MS / 1000} s: ${drops} (e.g. ${examples})`);
    }
    this.examples.clear();
    this.lastReported = now;
    this.writeStats(false);
  }

  /** The counters, in the state file (replaced atomically, so a reader never sees half of it). */
  writeStats(force: boolean): void {
    const counters = this.counters.snapshot();
    const key = JSON.stringify({ counters, peers: this.config.peers.length });
    if (!force && key === this.lastWritten) return;
    this.ctx.writeState({ node: this.config.node, updatedAt: new Date().toISOString(), peers: this.config.peers.length, ...counters });
    this.lastWritten = key;
  }

  async reload(config: ForwardingConfig): Promise<void> {
    let next = config;
    if (next.node !== this.config.node) throw new Error(`the config is for node ${next.node}, this daemon forwards for ${this.config.node}`);
    if (next.netns !== this.config.netns) {
      log(`the plan moves node ${next.node} to namespace ${next.netns}; this daemon stays in ${this.config.netns} until it is restarted there`);
      next = { ...next, netns: this.config.netns };
    }
    const old = this.config;
    if (next.listen.ip !== old.listen.ip || next.listen.port !== old.listen.port) {
      try {
        const socket = await bindSocket(next.listen);
        const previous = this.socket;
        this.attachSocket(socket);
        previous?.close();
        log(`now listening on udp ${next.listen.ip}:${next.listen.port} (was ${old.listen.ip}:${old.listen.port})`);
      } catch (err) {
        throw new Error(`keeping the current socket and routes: ${(err as Error).message}`);
      }
    }
    this.config = next;
    this.forwarder = new Forwarder(next);
    const changes = describePeerChanges(old.peers, next.peers);
    log(`reloaded the config: ${next.peers.length} peer(s)${changes.length ? `; ${changes.join(', ')}` : ', routes unchanged'}`);
    if (next.tunAddress !== old.tunAddress) log(`ICMP errors now from ${next.tunAddress}`);
    this.writeStats(false);
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.timer);
    this.tun?.close();
    this.socket?.close();
    this.writeStats(false);
    log('stopped');
  }

  private fatal(err: Error): void {
    if (this.stopping) return;
    this.stopping = true;
    this.writeStats(false);
    this.ctx.fatal(err);
  }
}

/** The config the agent writes: this node's forwarding table, as `forwardingConfig` renders it from the plan. */
function parseConfig(text: string, path: string): ForwardingConfig {
  let value: ForwardingConfig;
  try {
    value = JSON.parse(text) as ForwardingConfig;
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value?.node !== 'string' || typeof value.netns !== 'string' || !Array.isArray(value.peers) || typeof value.listen?.port !== 'number' || typeof value.mtu !== 'number') {
    throw new Error(`${path} is not a forwarding table (node, netns, listen, peers, mtu)`);
  }
  return value;
}

runDaemon<ForwardingConfig>({
  program: 'components/udp/main.js',
  parse: parseConfig,
  create(ctx) {
    let daemon: OverlayDaemon | undefined;
    process.on('SIGUSR1', () => {
      daemon?.writeStats(true);
      log('SIGUSR1: counters written');
    });
    return {
      async start(config) {
        daemon = new OverlayDaemon(ctx, config);
        await daemon.start();
        log('forwarding');
      },
      reload: (config) => daemon!.reload(config),
      stop: () => daemon?.stop(),
    };
  },
});
