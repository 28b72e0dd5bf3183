/**
 * The lab's DNS server: UDP and TCP on one address and port, answers from
 * a ZoneIndex (see zone.ts), everything else relayed to an upstream.
 *
 * Messages are decoded and encoded by dns-packet. The bytes touched here
 * directly are the ones that make the hot path cheap: the 12-byte header,
 * the question's name, type and class, the fixed part of an EDNS0 OPT
 * record, the ID (patched into cached answers) and TCP's 2-byte length
 * prefix.
 *
 * Cache: every answer from the data is kept encoded, keyed by (transport
 * and UDP size limit, EDNS0 presence and DO bit, RD and CD bits, question
 * name in lower case, type, class). A hit is a copy of the bytes with the
 * query's ID, and the query's spelling of the name written over the
 * question and every record owned by it, so answers keep the case asked.
 * Relayed answers and ExternalName targets resolved upstream are not
 * cached. setData() swaps the index and drops the cache in one step.
 *
 * Sizes: UDP answers fit in 512 bytes, or in the client's EDNS0 payload
 * size when it offers more; a bigger one is sent as header and question
 * with TC set (and the OPT record), for the client to ask again over TCP.
 * TCP carries up to 65,535 bytes a message.
 *
 * RA is set on every response: to a pod this server is its recursive
 * resolver (the internet side's one stands in for the public DNS), and
 * nslookup warns about a server without it and tries another.
 *
 * Errors: FORMERR for a message with a readable header whose rest cannot
 * be decoded, or without exactly one question; NOTIMP for opcodes other
 * than QUERY; BADVERS for EDNS versions above 0; SERVFAIL when no upstream
 * answers within the forward timeout (2 s). Messages without a header, and
 * responses, are dropped.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { connect, createServer, isIP, type Server, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DnsServerData } from './data.js';
import { ZoneIndex, type DnsRecord, type ZoneAnswer } from './zone.js';

export type Transport = 'udp' | 'tcp';

/** How long an upstream has to answer a relayed query before the client gets SERVFAIL. */
export const FORWARD_TIMEOUT_MS = 2000;
/** RFC 1035's UDP message limit, and the floor of any EDNS0 size. */
export const UDP_MIN_PAYLOAD = 512;
/** The largest UDP payload over IPv4. */
const UDP_MAX_PAYLOAD = 65507;
const TCP_MAX_MESSAGE = 65535;
/** The UDP payload size this server advertises in its OPT records (the 2020 DNS flag day's value). */
export const EDNS_ADVERTISED_SIZE = 1232;
/** Oldest entries go first beyond this; a lab asks for a few hundred names. */
const CACHE_MAX_ENTRIES = 10_000;
/** TCP connections without a complete query for this long are closed (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
/** Wire names longer than this are invalid (RFC 1035); such queries skip the cache. */
const MAX_WIRE_NAME = 255;

const QR = 0x80; // in byte 2
const OPT_TYPE = 41;
const { AUTHORITATIVE_ANSWER: AA, TRUNCATED_RESPONSE: TC, RECURSION_DESIRED: RD, RECURSION_AVAILABLE: RA, CHECKING_DISABLED: CD } = dnsPacket;
const DNSSEC_OK = 0x8000;

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const RCODE: Record<string, number> = Object.fromEntries(RCODES.map((name, i) => [name, i]));
const rcodeName = (n: number): string => RCODES[n] ?? `RCODE${n}`;

export interface Upstream {
  host: string;
  port: number;
}

/** `ip` or `ip:port` (IPv6: `addr` or `[addr]:port`); port 53 by default. */
export function parseUpstream(text: string): Upstream {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const v4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(text);
  const [host, port] = bracketed ? [bracketed[1]!, bracketed[2]] : v4 ? [v4[1]!, v4[2]] : [text, undefined];
  const n = port === undefined ? 53 : Number(port);
  if (isIP(host) === 0 || !Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`upstream '${text}' is not an IP address with an optional :port`);
  return { host, port: n };
}

export interface DnsCounters {
  /** Messages received, by transport. */
  requests: Record<Transport, number>;
  /** Responses sent, by rcode name (`NOERROR`, `NXDOMAIN`, ..., `BADVERS`). */
  responses: Record<string, number>;
  cacheHits: number;
  /** Cacheable queries that found no entry (not counted: queries the cache cannot take). */
  cacheMisses: number;
  /** Queries relayed upstream, and upstream lookups of ExternalName targets. */
  forwards: number;
  /** Of those, the ones no upstream answered. */
  forwardFailures: number;
  /** UDP responses sent with TC for the client to retry over TCP. */
  truncated: number;
  /** Messages dropped without an answer: no readable header, or not a query. */
  dropped: number;
}

export interface DnsServerOptions {
  /** Address to listen on; `0.0.0.0` (every address of the namespace) by default. */
  host?: string;
  /** Port for both UDP and TCP; 53 by default, 0 for a free one (tests). */
  port?: number;
  /** How long upstreams have to answer; FORWARD_TIMEOUT_MS by default. */
  forwardTimeoutMs?: number;
  log?: (line: string) => void;
}

/** What the hot path reads from a query without decoding it. */
interface Peek {
  key: string;
  /** The question's wire name is bytes [12, nameEnd). */
  nameEnd: number;
}

interface CacheEntry {
  wire: Buffer;
  /** Where the question's name is written in `wire`: the question, and the owner of each record owned by it. */
  nameOffsets: number[];
  rcode: string;
}

const lowerScratch = Buffer.alloc(MAX_WIRE_NAME);

/**
 * The cache key of a plain query (QR 0, opcode QUERY, one question, no
 * answer or authority records, at most an EDNS0 OPT record), read from the
 * bytes; undefined for anything else, which then goes the slow way.
 */
function peekQuery(msg: Buffer, transport: Transport): Peek | undefined {
  const len = msg.length;
  if (len < 17 || (msg[2]! & 0xf8) !== 0) return undefined;
  if (msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || msg[11]! > 1) return undefined;
  let i = 12;
  let upper = false;
  for (;;) {
    if (i >= len) return undefined;
    const l = msg[i]!;
    if (l === 0) break;
    if (l > 63) return undefined;
    for (let j = i + 1; j <= i + l && j < len; j++) {
      const c = msg[j]!;
      if (c >= 0x41 && c <= 0x5a) upper = true;
    }
    i += l + 1;
  }
  const nameEnd = i + 1;
  if (nameEnd - 12 > MAX_WIRE_NAME || nameEnd + 4 > len) return undefined;
  let off = nameEnd + 4;
  let limit = transport === 'tcp' ? TCP_MAX_MESSAGE : UDP_MIN_PAYLOAD;
  let edns = '-';
  if (msg[11] === 1) {
    // An OPT record: root name, type 41, class = UDP size, TTL = ext-rcode, version, flags; then its options.
    if (off + 11 > len || msg[off] !== 0 || msg.readUInt16BE(off + 1) !== OPT_TYPE || msg[off + 6] !== 0) return undefined;
    if (off + 11 + msg.readUInt16BE(off + 9) !== len) return undefined;
    if (transport === 'udp') limit = Math.min(Math.max(msg.readUInt16BE(off + 3), UDP_MIN_PAYLOAD), UDP_MAX_PAYLOAD);
    edns = msg[off + 7]! & 0x80 ? 'D' : 'E';
    off = len;
  }
  if (off !== len) return undefined;
  let name: string;
  if (upper) {
    for (let j = 12; j < nameEnd; j++) {
      const c = msg[j]!;
      lowerScratch[j - 12] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    name = lowerScratch.toString('latin1', 0, nameEnd - 12);
  } else {
    name = msg.toString('latin1', 12, nameEnd);
  }
  // RD (byte 2 bit 0) and CD (byte 3 bit 4) are echoed; type and class follow the name.
  return { key: `${limit}|${edns}|${msg[2]! & 1}|${msg[3]! & 0x10}|${msg.readUInt32BE(nameEnd)}|${name}`, nameEnd };
}

const answerLength: (rr: DnsRecord) => number = (dnsPacket as unknown as { answer: { encodingLength(rr: DnsRecord): number } }).answer.encodingLength;

/**
 * Where the asked name sits in an encoded response: the question at 12,
 * and every record whose owner is the name as asked. Undefined when the
 * encoding does not hold the query's name bytes there (odd names), so the
 * answer is not cached.
 */
function nameOffsets(wire: Buffer, msg: Buffer, nameEnd: number, reply: dnsPacket.Packet, asked: string): number[] | undefined {
  const size = nameEnd - 12;
  if (wire.compare(msg, 12, nameEnd, 12, nameEnd) !== 0) return undefined;
  const offsets = [12];
  let off = nameEnd + 4;
  for (const rr of [...(reply.answers ?? []), ...(reply.authorities ?? []), ...(reply.additionals ?? [])]) {
    if (rr.name === asked) {
      if (msg.compare(wire, off, off + size, 12, nameEnd) !== 0) return undefined;
      offsets.push(off);
    }
    off += answerLength(rr);
  }
  return off === wire.length ? offsets : undefined;
}

function optRecord(query: dnsPacket.OptAnswer | undefined, extendedRcode = 0): dnsPacket.OptAnswer {
  const flags = query && query.flags & DNSSEC_OK ? DNSSEC_OK : 0;
  return { name: '.', type: 'OPT', udpPayloadSize: EDNS_ADVERTISED_SIZE, extendedRcode, ednsVersion: 0, flags, flag_do: flags !== 0, options: [] };
}

/** Encodes `reply` within `limit` bytes: UDP drops every record but OPT and sets TC; TCP keeps the answers that fit. */
function encodeWithin(reply: dnsPacket.Packet, limit: number, transport: Transport): { wire: Buffer; packet: dnsPacket.Packet; truncated: boolean } {
  const wire = dnsPacket.encode(reply);
  if (wire.length <= limit) return { wire, packet: reply, truncated: false };
  const opt = (reply.additionals ?? []).filter((a) => a.type === 'OPT');
  const cut = (answers: DnsRecord[]): dnsPacket.Packet => ({ ...reply, flags: (reply.flags ?? 0) | TC, answers, authorities: [], additionals: opt });
  if (transport === 'udp') {
    const packet = cut([]);
    return { wire: dnsPacket.encode(packet), packet, truncated: true };
  }
  const answers = reply.answers ?? [];
  let lo = 0;
  let hi = answers.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (dnsPacket.encodingLength(cut(answers.slice(0, mid))) <= limit) lo = mid;
    else hi = mid - 1;
  }
  const packet = cut(answers.slice(0, lo));
  return { wire: dnsPacket.encode(packet), packet, truncated: true };
}

export class DnsServer {
  private index: ZoneIndex;
  private upstream: Upstream[];
  /** Bumped by setData(); an answer computed before a swap is not cached after it. */
  private generation = 0;
  private readonly cache = new Map<string, CacheEntry>();
  private udp?: Socket;
  private tcp?: Server;
  private readonly connections = new Set<TcpSocket>();
  /** Cancels the upstream exchanges under way (close()). */
  private readonly inflight = new Set<() => void>();
  private readonly host: string;
  private readonly wantedPort: number;
  private readonly timeoutMs: number;
  private readonly log: (line: string) => void;
  readonly counters: DnsCounters = {
    requests: { udp: 0, tcp: 0 },
    responses: {},
    cacheHits: 0,
    cacheMisses: 0,
    forwards: 0,
    forwardFailures: 0,
    truncated: 0,
    dropped: 0,
  };

  constructor(data: DnsServerData, opts: DnsServerOptions = {}) {
    this.index = new ZoneIndex(data);
    this.upstream = data.upstream.map(parseUpstream);
    this.host = opts.host ?? '0.0.0.0';
    this.wantedPort = opts.port ?? 53;
    this.timeoutMs = opts.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;
    this.log = opts.log ?? (() => {});
  }

  /**
   * Replaces the data: the new index and upstreams and an empty cache take
   * effect together, before the next query. Throws (and keeps the old data)
   * when the data is unusable.
   */
  setData(data: DnsServerData): void {
    const upstream = data.upstream.map(parseUpstream);
    const index = new ZoneIndex(data);
    this.index = index;
    this.upstream = upstream;
    this.cache.clear();
    this.generation++;
  }

  get data(): DnsServerData {
    return this.index.data;
  }

  /** The index answers come from (its counts go into the daemon's state file). */
  get zone(): ZoneIndex {
    return this.index;
  }

  /** The port served, UDP and TCP; known after start(). */
  get port(): number {
    return this.udp?.address().port ?? 0;
  }

  /** Number of cached answers. */
  get cacheSize(): number {
    return this.cache.size;
  }

  /** Binds UDP and TCP on the same port (with port 0: a free one, retried until TCP gets it too). */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp();
      try {
        this.tcp = await this.listenTcp(udp.address().port);
      } catch (err) {
        udp.close();
        if (this.wantedPort !== 0 || attempt >= 10) throw err;
        continue;
      }
      this.udp = udp;
      udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
      udp.on('error', (err) => this.log(`dns udp socket: ${err.message}`));
      return;
    }
  }

  private bindUdp(): Promise<Socket> {
    const udp = createSocket({ type: isIP(this.host) === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    return new Promise((resolve, reject) => {
      udp.once('error', (err) => reject(new Error(`cannot bind UDP ${this.host}:${this.wantedPort}: ${err.message}`)));
      udp.bind(this.wantedPort, this.host, () => {
        udp.removeAllListeners('error');
        resolve(udp);
      });
    });
  }

  private listenTcp(port: number): Promise<Server> {
    const tcp = createServer((s) => this.onTcp(s));
    return new Promise((resolve, reject) => {
      tcp.once('error', (err) => reject(new Error(`cannot listen on TCP ${this.host}:${port}: ${err.message}`)));
      tcp.listen(port, this.host, () => {
        tcp.removeAllListeners('error');
        tcp.on('error', (err) => this.log(`dns tcp listener: ${err.message}`));
        resolve(tcp);
      });
    });
  }

  async close(): Promise<void> {
    for (const cancel of this.inflight) cancel();
    for (const c of this.connections) c.destroy();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    await Promise.all([
      new Promise<void>((r) => (udp ? udp.close(() => r()) : r())),
      new Promise<void>((r) => (tcp ? tcp.close(() => r()) : r())),
    ]);
  }

  /** Answers one message as if it had come over `transport`; undefined when it gets no answer. */
  async handle(msg: Buffer, transport: Transport): Promise<Buffer | undefined> {
    return this.receive(msg, transport);
  }

  private onUdp(msg: Buffer, rinfo: RemoteInfo): void {
    const out = this.receive(msg, 'udp');
    if (Buffer.isBuffer(out)) {
      this.udp?.send(out, rinfo.port, rinfo.address);
      return;
    }
    out.then(
      (reply) => {
        if (reply) this.udp?.send(reply, rinfo.port, rinfo.address);
      },
      (err: Error) => this.log(`query from ${rinfo.address}:${rinfo.port}: ${err.message}`),
    );
  }

  private onTcp(socket: TcpSocket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    const reply = (out: Buffer | undefined) => {
      if (!out || socket.destroyed) return;
      const prefix = Buffer.allocUnsafe(2);
      prefix.writeUInt16BE(out.length);
      socket.write(Buffer.concat([prefix, out]));
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = Buffer.from(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        const out = this.receive(msg, 'tcp');
        if (Buffer.isBuffer(out)) reply(out);
        else out.then(reply, () => socket.destroy());
      }
    });
  }

  /** The cache when it can, else the full path. */
  private receive(msg: Buffer, transport: Transport): Buffer | Promise<Buffer | undefined> {
    this.counters.requests[transport]++;
    const peek = peekQuery(msg, transport);
    if (peek) {
      const hit = this.cache.get(peek.key);
      if (hit) {
        const out = Buffer.allocUnsafe(hit.wire.length);
        hit.wire.copy(out);
        out[0] = msg[0]!;
        out[1] = msg[1]!;
        if (msg.compare(hit.wire, 12, peek.nameEnd, 12, peek.nameEnd) !== 0) for (const off of hit.nameOffsets) msg.copy(out, off, 12, peek.nameEnd);
        this.counters.cacheHits++;
        this.countResponse(hit.rcode);
        return out;
      }
      this.counters.cacheMisses++;
    }
    return this.resolve(msg, transport, peek);
  }

  private countResponse(rcode: string): void {
    this.counters.responses[rcode] = (this.counters.responses[rcode] ?? 0) + 1;
  }

  private sent(wire: Buffer): Buffer {
    this.countResponse(rcodeName(wire[3]! & 0x0f));
    return wire;
  }

  private errorReply(id: number, echo: number, rcode: string, questions: dnsPacket.Question[] = []): Buffer {
    return this.sent(dnsPacket.encode({ id, type: 'response', flags: echo | RA | (RCODE[rcode] ?? 2), questions: questions.slice(0, 1) }));
  }

  private async resolve(msg: Buffer, transport: Transport, peek: Peek | undefined): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      if (msg.length < 12 || (msg[2]! & QR) !== 0) {
        this.counters.dropped++;
        return undefined;
      }
      return this.errorReply(msg.readUInt16BE(0), msg[2]! & 0x01 ? RD : 0, 'FORMERR');
    }
    if (query.type === 'response') {
      this.counters.dropped++;
      return undefined;
    }
    const id = query.id ?? 0;
    const flags = query.flags ?? 0;
    const echo = flags & (RD | CD);
    const questions = query.questions ?? [];
    if (((flags >> 11) & 0x0f) !== 0) return this.errorReply(id, echo, 'NOTIMP', questions);
    const opts = (query.additionals ?? []).filter((a): a is dnsPacket.OptAnswer => a.type === 'OPT');
    if (questions.length !== 1 || opts.length > 1) return this.errorReply(id, echo, 'FORMERR', questions);
    const q = questions[0]!;
    const opt = opts[0];
    if (opt && opt.ednsVersion !== 0) {
      // BADVERS (16): the upper 8 bits in the OPT record, the lower 4 (0) in the header.
      this.countResponse('BADVERS');
      return dnsPacket.encode({ id, type: 'response', flags: echo | RA, questions: [q], additionals: [optRecord(opt, 1)] });
    }
    const limit = transport === 'tcp' ? TCP_MAX_MESSAGE : opt ? Math.min(Math.max(opt.udpPayloadSize, UDP_MIN_PAYLOAD), UDP_MAX_PAYLOAD) : UDP_MIN_PAYLOAD;

    const generation = this.generation;
    const decision = this.index.answer({ name: q.name, type: q.type, class: q.class ?? 'IN' });
    if (decision.kind === 'forward') return this.forward(msg, id, echo, q, transport);
    let answer: ZoneAnswer = decision;
    if (decision.chase) answer = await this.chase(decision, transport);
    const reply: dnsPacket.Packet = {
      id,
      type: 'response',
      flags: echo | (answer.aa ? AA : 0) | RA | (RCODE[answer.rcode] ?? 0),
      questions: [q],
      answers: answer.answers,
      authorities: answer.authority,
      additionals: [...answer.additionals, ...(opt ? [optRecord(opt)] : [])],
    };
    let encoded: ReturnType<typeof encodeWithin>;
    try {
      encoded = encodeWithin(reply, limit, transport);
    } catch (err) {
      this.log(`cannot encode the answer to ${q.name} ${q.type}: ${(err as Error).message}`);
      return this.errorReply(id, echo, 'SERVFAIL', [q]);
    }
    if (encoded.truncated && transport === 'udp') this.counters.truncated++;
    if (peek && !decision.chase && generation === this.generation) {
      const offsets = nameOffsets(encoded.wire, msg, peek.nameEnd, encoded.packet, q.name);
      if (offsets) {
        if (this.cache.size >= CACHE_MAX_ENTRIES) {
          const oldest = this.cache.keys().next();
          if (!oldest.done) this.cache.delete(oldest.value);
        }
        this.cache.set(peek.key, { wire: encoded.wire, nameOffsets: offsets, rcode: answer.rcode });
      }
    }
    return this.sent(encoded.wire);
  }

  /** Relays the query as received (same ID) over the transport it came on; SERVFAIL when no upstream answers in time. */
  private async forward(msg: Buffer, id: number, echo: number, q: dnsPacket.Question, transport: Transport): Promise<Buffer> {
    this.counters.forwards++;
    try {
      return this.sent(await this.ask(msg, transport));
    } catch (err) {
      this.counters.forwardFailures++;
      this.log(`forward of ${q.name} ${q.type} over ${transport}: ${(err as Error).message}; SERVFAIL`);
      return this.errorReply(id, echo, 'SERVFAIL', [q]);
    }
  }

  /**
   * Resolves an ExternalName's outside target through the upstream and
   * appends the records after the CNAME; on failure the CNAME alone.
   */
  private async chase(answer: ZoneAnswer, transport: Transport): Promise<ZoneAnswer> {
    const chase = answer.chase!;
    const { chase: _done, ...rest } = answer;
    this.counters.forwards++;
    try {
      const query = dnsPacket.encode({
        id: Math.floor(Math.random() * 65536),
        type: 'query',
        flags: RD,
        questions: [{ name: chase.name, type: chase.type as dnsPacket.RecordType }],
        additionals: transport === 'udp' ? [optRecord(undefined)] : [],
      });
      let reply = dnsPacket.decode(await this.ask(query, transport));
      if (reply.flag_tc && transport === 'udp') reply = dnsPacket.decode(await this.ask(query, 'tcp'));
      const rcode = (reply as { rcode?: string }).rcode;
      if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') throw new Error(`the upstream answered ${rcode}`);
      const records = (reply.answers ?? []).filter((a) => a.type !== 'OPT');
      const authority = records.length ? [] : (reply.authorities ?? []).filter((a) => a.type === 'SOA');
      return { ...rest, rcode, answers: [...rest.answers, ...records], authority };
    } catch (err) {
      this.counters.forwardFailures++;
      this.log(`lookup of ${chase.name} ${chase.type} (an ExternalName target) upstream: ${(err as Error).message}`);
      return rest;
    }
  }

  /** One exchange with the upstreams, in order, within the forward timeout altogether. */
  private async ask(msg: Buffer, transport: Transport): Promise<Buffer> {
    const deadline = Date.now() + this.timeoutMs;
    let last: Error = new Error('no upstream configured');
    for (const up of this.upstream) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        return await (transport === 'tcp' ? this.exchangeTcp(msg, up, left) : this.exchangeUdp(msg, up, left));
      } catch (err) {
        last = err as Error;
      }
    }
    throw last;
  }

  private exchangeUdp(msg: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = createSocket(isIP(up.host) === 6 ? 'udp6' : 'udp4');
      const id = msg.readUInt16BE(0);
      const finish = (err?: Error, reply?: Buffer) => {
        clearTimeout(timer);
        this.inflight.delete(cancel);
        s.close();
        if (reply) resolve(reply);
        else reject(err);
      };
      const cancel = () => finish(new Error('the server is closing'));
      const timer = setTimeout(() => finish(new Error(`${up.host}:${up.port} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.inflight.add(cancel);
      s.on('error', (err) => finish(new Error(`${up.host}:${up.port}: ${err.message}`)));
      s.on('message', (reply, rinfo) => {
        if (rinfo.port === up.port && reply.length >= 12 && reply.readUInt16BE(0) === id && (reply[2]! & QR) !== 0) finish(undefined, reply);
      });
      s.send(msg, up.port, up.host);
    });
  }

  private exchangeTcp(msg: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: up.host, port: up.port });
      let buf: Buffer = Buffer.alloc(0);
      const finish = (err?: Error, reply?: Buffer) => {
        clearTimeout(timer);
        this.inflight.delete(cancel);
        s.destroy();
        if (reply) resolve(reply);
        else reject(err);
      };
      const cancel = () => finish(new Error('the server is closing'));
      const timer = setTimeout(() => finish(new Error(`${up.host}:${up.port} did not answer over TCP within ${timeoutMs} ms`)), timeoutMs);
      this.inflight.add(cancel);
      s.on('error', (err) => finish(new Error(`${up.host}:${up.port} over TCP: ${err.message}`)));
      s.on('connect', () => {
        const prefix = Buffer.allocUnsafe(2);
        prefix.writeUInt16BE(msg.length);
        s.write(Buffer.concat([prefix, msg]));
      });
      s.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(undefined, Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      });
      s.on('end', () => finish(new Error(`${up.host}:${up.port} closed the TCP connection without an answer`)));
    });
  }
}
