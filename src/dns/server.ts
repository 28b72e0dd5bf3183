/**
 * The DNS server: UDP and TCP on one port, answers from a ZoneIndex,
 * everything else forwarded upstream. Messages are decoded and encoded by
 * dns-packet; the only bytes handled here are the ones DNS defines for
 * transport: the ID (patched into cached answers), the question section
 * (the cache key) and TCP's two-byte length prefix.
 *
 * The hot path is a cached answer: a query whose bytes after the ID match
 * an earlier one gets the earlier encoded response with its ID replaced,
 * without decoding anything. The cache holds only this server's own
 * answers and is dropped whole when the data changes.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { connect, createServer, type Server, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DnsServerData } from './data.js';
import { ZoneIndex, type DnsRecord, type LocalAnswer } from './zone.js';

type Transport = 'udp' | 'tcp';
type Packet = dnsPacket.Packet;

/** RFC 1035's UDP limit without EDNS0. */
const UDP_PLAIN_LIMIT = 512;
/** Our EDNS0 UDP payload size, and the most we send over UDP whatever the client offers (the DNS flag day's value). */
const EDNS_OUR_SIZE = 1232;
export const FORWARD_TIMEOUT_MS = 2000;
/** Dropped whole when it grows past this; lookups in a lab repeat a handful of names. */
const CACHE_MAX = 10_000;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type RcodeName = keyof typeof RCODE;

export interface Upstream {
  ip: string;
  port: number;
}

export function parseUpstream(text: string): Upstream {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new Error(`upstream '${text}' is not an IPv4 address with an optional :port`);
  return { ip: m[1]!, port: m[2] ? Number(m[2]) : 53 };
}

export interface DnsCounters {
  requests: Record<Transport, number>;
  responses: Record<string, number>;
  cacheHits: number;
  cacheMisses: number;
  forwards: number;
  forwardFailures: number;
}

export interface ServerOptions {
  /** Address to listen on; 0.0.0.0 in a pod. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  log?: (line: string) => void;
}

/** Where the question section of a query ends, read without decoding: 12-byte header, labels, type, class. */
function questionEnd(buf: Buffer): number | undefined {
  let i = 12;
  while (i < buf.length) {
    const len = buf[i]!;
    if (len === 0) return i + 5 <= buf.length ? i + 5 : undefined;
    if (len > 63) return undefined; // no compression in a question we cache
    i += len + 1;
  }
  return undefined;
}

function flagsOf(p: { flags?: number }): number {
  return p.flags ?? 0;
}

export class DnsServer {
  private index: ZoneIndex;
  private upstream: Upstream[];
  private readonly cache = new Map<string, Buffer>();
  private udp?: Socket;
  private tcp?: Server;
  private readonly connections = new Set<TcpSocket>();
  readonly counters: DnsCounters = {
    requests: { udp: 0, tcp: 0 },
    responses: {},
    cacheHits: 0,
    cacheMisses: 0,
    forwards: 0,
    forwardFailures: 0,
  };

  constructor(
    data: DnsServerData,
    private readonly opts: ServerOptions,
  ) {
    this.index = new ZoneIndex(data);
    this.upstream = data.upstream.map(parseUpstream);
  }

  /** Swaps the records in one step; answers cached from the old ones go with them. */
  setData(data: DnsServerData): void {
    const upstream = data.upstream.map(parseUpstream);
    this.index = new ZoneIndex(data);
    this.upstream = upstream;
    this.cache.clear();
  }

  get data(): DnsServerData {
    return this.index.data;
  }

  /** The bound UDP port (the TCP one is the same). */
  get port(): number {
    return this.udp?.address().port ?? 0;
  }

  async start(): Promise<void> {
    const udp = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.opts.port, this.opts.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
    udp.on('error', (err) => this.opts.log?.(`udp socket: ${err.message}`));
    const tcp = createServer((s) => this.onTcp(s));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(udp.address().port, this.opts.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }

  private onUdp(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.requests.udp++;
    const send = (out: Buffer) => this.udp?.send(out, rinfo.port, rinfo.address);
    const fast = this.cached(msg, 'udp');
    if (fast) {
      send(fast);
      return;
    }
    this.handle(msg, 'udp').then(
      (out) => out && send(out),
      (err: Error) => this.opts.log?.(`query from ${rinfo.address}:${rinfo.port}: ${err.message}`),
    );
  }

  private onTcp(socket: TcpSocket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        this.counters.requests.tcp++;
        const reply = (out: Buffer | undefined) => {
          if (!out || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        };
        const fast = this.cached(msg, 'tcp');
        if (fast) reply(fast);
        else this.handle(msg, 'tcp').then(reply, () => socket.destroy());
      }
    });
  }

  private cacheKey(msg: Buffer, transport: Transport): string | undefined {
    if (msg.length < 17 || msg.length > 600) return undefined;
    // Only plain queries: QR 0, opcode QUERY, one question, no answers or authority.
    if ((msg[2]! & 0xf8) !== 0 || msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return undefined;
    if (questionEnd(msg) === undefined) return undefined;
    // Flags (RD, CD), the question as sent (its case comes back as asked) and any EDNS0 record shape the answer.
    return `${transport}${msg.toString('latin1', 2, msg.length)}`;
  }

  private cached(msg: Buffer, transport: Transport): Buffer | undefined {
    const key = this.cacheKey(msg, transport);
    const hit = key === undefined ? undefined : this.cache.get(key);
    if (!hit) return undefined;
    this.counters.cacheHits++;
    const out = Buffer.from(hit);
    out[0] = msg[0]!;
    out[1] = msg[1]!;
    this.count(out);
    return out;
  }

  private count(out: Buffer): void {
    const rcode = Object.keys(RCODE).find((k) => RCODE[k as RcodeName] === (out[3]! & 0x0f)) ?? String(out[3]! & 0x0f);
    this.counters.responses[rcode] = (this.counters.responses[rcode] ?? 0) + 1;
  }

  /** Answers one message; undefined when it cannot be answered at all (not even a header). */
  async handle(msg: Buffer, transport: Transport): Promise<Buffer | undefined> {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      if (msg.length < 12 || (msg[2]! & 0x80) !== 0) return undefined;
      // A header we can read: say the rest is malformed.
      return this.finish(this.errorReply(msg.readUInt16BE(0), msg[2]! & 0x01 ? dnsPacket.RECURSION_DESIRED : 0, 'FORMERR'));
    }
    if (query.type === 'response') return undefined;
    const rd = flagsOf(query) & dnsPacket.RECURSION_DESIRED;
    const opcode = (flagsOf(query) >> 11) & 0x0f;
    if (opcode !== 0) return this.finish(this.errorReply(query.id ?? 0, rd, 'NOTIMP', query));
    const questions = query.questions ?? [];
    if (questions.length !== 1) return this.finish(this.errorReply(query.id ?? 0, rd, 'FORMERR', query));
    const q = questions[0]!;
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    const limit = transport === 'tcp' ? 65535 : opt ? Math.min(Math.max(opt.udpPayloadSize ?? UDP_PLAIN_LIMIT, UDP_PLAIN_LIMIT), EDNS_OUR_SIZE) : UDP_PLAIN_LIMIT;

    const decision = this.index.answer({ name: q.name, type: q.type });
    if (decision.kind === 'forward') return this.forward(msg, query, transport);
    let answer = decision;
    let cacheable = true;
    if (decision.chase) {
      answer = await this.chase(decision);
      cacheable = false;
    }
    const reply: Packet = {
      id: query.id ?? 0,
      type: 'response',
      flags: rd | dnsPacket.RECURSION_AVAILABLE | (cacheable ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE[answer.rcode as RcodeName],
      questions: [q],
      answers: answer.answers as dnsPacket.Answer[],
      authorities: answer.authority as dnsPacket.Answer[],
      additionals: [...(answer.additionals as dnsPacket.Answer[]), ...(opt ? [this.ourOpt()] : [])],
    };
    let out = dnsPacket.encode(reply);
    if (out.length > limit) {
      // Too big for this datagram: the header and question with TC, and the client retries over TCP.
      out = dnsPacket.encode({ ...reply, flags: flagsOf(reply) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: opt ? [this.ourOpt()] : [] });
    }
    if (cacheable) {
      const key = this.cacheKey(msg, transport);
      if (key !== undefined) {
        this.counters.cacheMisses++;
        if (this.cache.size >= CACHE_MAX) this.cache.clear();
        this.cache.set(key, out);
      }
    }
    return this.finish(out);
  }

  private finish(out: Buffer): Buffer {
    this.count(out);
    return out;
  }

  private ourOpt(): dnsPacket.OptAnswer {
    return { name: '.', type: 'OPT', udpPayloadSize: EDNS_OUR_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  }

  private errorReply(id: number, rd: number, rcode: RcodeName, query?: Packet): Buffer {
    return dnsPacket.encode({
      id,
      type: 'response',
      flags: rd | dnsPacket.RECURSION_AVAILABLE | RCODE[rcode],
      questions: (query?.questions ?? []).slice(0, 1),
      answers: [],
      authorities: [],
      additionals: [],
    });
  }

  /** Relays the query as it came (same ID) to the first upstream, over the transport it came on; SERVFAIL when none answers in time. */
  private async forward(msg: Buffer, query: Packet, transport: Transport): Promise<Buffer> {
    const up = this.upstream[0];
    const rd = flagsOf(query) & dnsPacket.RECURSION_DESIRED;
    if (!up) return this.finish(this.errorReply(query.id ?? 0, rd, 'REFUSED', query));
    this.counters.forwards++;
    try {
      const reply = transport === 'tcp' ? await exchangeTcp(msg, up) : await exchangeUdp(msg, up);
      return this.finish(reply);
    } catch (err) {
      this.counters.forwardFailures++;
      this.opts.log?.(`forward of ${query.questions?.[0]?.name ?? '?'} to ${up.ip}:${up.port} over ${transport}: ${(err as Error).message}`);
      return this.finish(this.errorReply(query.id ?? 0, rd, 'SERVFAIL', query));
    }
  }

  /** Follows an ExternalName's CNAME to a name outside the zone, through the upstream, as CoreDNS does. */
  private async chase(answer: LocalAnswer): Promise<LocalAnswer> {
    const up = this.upstream[0];
    if (!up || !answer.chase) return answer;
    const id = Math.floor(Math.random() * 65536);
    const q = dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: answer.chase.name, type: answer.chase.type as dnsPacket.RecordType }] });
    this.counters.forwards++;
    try {
      const reply = dnsPacket.decode(await exchangeUdp(q, up));
      const rcode = ((reply.flags ?? 0) & 0x0f) === RCODE.NXDOMAIN ? 'NXDOMAIN' : 'NOERROR';
      return { ...answer, rcode, answers: [...answer.answers, ...((reply.answers ?? []) as unknown as DnsRecord[])], authority: (reply.authorities ?? []) as unknown as DnsRecord[] };
    } catch {
      this.counters.forwardFailures++;
      return answer;
    }
  }
}

function exchangeUdp(msg: Buffer, up: Upstream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const id = msg.readUInt16BE(0);
    const timer = setTimeout(() => done(new Error(`no answer within ${FORWARD_TIMEOUT_MS} ms`)), FORWARD_TIMEOUT_MS);
    const done = (err?: Error, reply?: Buffer) => {
      clearTimeout(timer);
      s.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    s.on('error', (err) => done(err));
    s.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === id) done(undefined, reply);
    });
    s.send(msg, up.port, up.ip);
  });
}

function exchangeTcp(msg: Buffer, up: Upstream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(up.port, up.ip);
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no answer within ${FORWARD_TIMEOUT_MS} ms`)), FORWARD_TIMEOUT_MS);
    const done = (err?: Error, reply?: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    s.on('error', (err) => done(err));
    s.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(msg.length);
      s.write(Buffer.concat([prefix, msg]));
    });
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    s.on('end', () => done(new Error('the upstream closed the connection without an answer')));
  });
}
