/**
 * The test server's wire side. One HTTP parser serves every TCP port of every
 * container: each accepted connection is injected into it together with the
 * container it belongs to, which keeps the cost per port to one listening
 * socket instead of one `http.Server` each.
 *
 * The first bytes of a connection say what it speaks, so every port also
 * answers what an ingress backend-protocol asks for: a TLS ClientHello gets
 * TLS (HTTP/1.1 or, by ALPN, HTTP/2) with the lab's test-server
 * certificate, and the HTTP/2 preface gets cleartext HTTP/2 (h2c, as
 * nginx's grpc_pass speaks). HTTP/2 requests with content-type
 * application/grpc get a gRPC answer: `grpc.health.v1.Health/Check` says
 * SERVING, any other method returns the identity document as field 1 of
 * its reply message.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer as createSecureH2Server, createServer as createH2Server } from 'node:http2';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { identity, patternChunk, ReadyFlags, respond, type ServeContext } from './responses.js';

/** The `/ready` answers of every pod this agent serves. */
export const readyFlags = new ReadyFlags();

const CHUNK = patternChunk(64 * 1024);

const contexts = new WeakMap<Socket, ServeContext>();
let shared: Server | undefined;

type Peer = { address?: string; port?: number };
/** What answering needs of a request and a response, HTTP/1.1 or HTTP/2 (compatibility API) alike. */
type Req = Pick<IncomingMessage, 'url' | 'method' | 'headers' | 'httpVersionMajor'> & { resume(): unknown; on(event: 'end', fn: () => void): unknown };
type Res = {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  write(chunk: Buffer): boolean;
  end(body?: string | Buffer): unknown;
  once(event: 'drain', fn: () => void): unknown;
  addTrailers(headers: Record<string, string>): void;
  destroyed: boolean;
};

function writeBytes(res: Res, length: number): void {
  let left = length;
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

const GRPC_HEALTH = '/grpc.health.v1.Health/Check';

/** A protobuf message whose field 1 holds `value` (a string, or a varint when a number). */
function protoField1(value: string | number): Buffer {
  if (typeof value === 'number') return Buffer.from([0x08, value]);
  const bytes = Buffer.from(value);
  const len: number[] = [];
  let n = bytes.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x0a, ...len]), bytes]);
}

/** One gRPC length-prefixed message. */
function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

function answer(req: Req, res: Res, ctx: ServeContext, peer: Peer, tls: boolean): void {
  const url = req.url ?? '/';
  const host = req.headers.host ?? req.headers[':authority'];
  const seen = { ...(host !== undefined ? { host: String(host) } : {}), ...(req.httpVersionMajor === 2 ? { protocol: 'h2' } : {}), ...(tls ? { tls } : {}) };
  if (req.httpVersionMajor === 2 && String(req.headers['content-type'] ?? '').startsWith('application/grpc')) {
    // The request message is read and dropped: the reply does not depend on it.
    req.resume();
    req.on('end', () => {
      const message = url === GRPC_HEALTH ? protoField1(1) : protoField1(JSON.stringify(identity(ctx, peer, { ...seen, target: url })));
      res.writeHead(200, { 'content-type': 'application/grpc' });
      res.addTrailers({ 'grpc-status': '0', 'grpc-message': '' });
      res.end(grpcFrame(message));
    });
    return;
  }
  const reply = respond(url, ctx, peer, req.method, readyFlags, seen);
  const length = reply.kind === 'bytes' ? reply.length : Buffer.byteLength(reply.body);
  res.writeHead(reply.status, { 'Content-Type': reply.contentType, 'Content-Length': length });
  if (req.method === 'HEAD') res.end();
  else if (reply.kind === 'bytes') writeBytes(res, reply.length);
  else res.end(reply.body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const ctx = contexts.get(req.socket);
  if (!ctx) {
    // Only sockets handed over by serveHttpConnection reach this server.
    res.destroy();
    return;
  }
  answer(req, res, ctx, { address: req.socket.remoteAddress, port: req.socket.remotePort }, false);
}

function server(): Server {
  if (!shared) {
    // Never listens itself, so Node starts no request-timeout timer for it:
    // an idle agent keeps no timers at all.
    shared = createServer({ keepAlive: true }, handle);
  }
  return shared;
}

/** Where the test server's TLS certificate comes from; set by the agent (it is made on first use). */
let certificate: (() => Promise<{ cert: string; key: string }>) | undefined;
let keyPair: Promise<{ cert: string; key: string }> | undefined;

export function useTlsCertificate(source: () => Promise<{ cert: string; key: string }>): void {
  certificate = source;
  keyPair = undefined;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0');

/**
 * The connection as a plain stream that starts with the bytes read to sniff
 * it: TLS and HTTP/2 would read the socket's handle directly and miss them.
 */
function replayable(socket: Socket): Duplex {
  const stream = Duplex.from({ readable: socket, writable: socket });
  stream.on('error', () => socket.destroy());
  socket.once('close', () => stream.destroy());
  return stream;
}

/** Cleartext HTTP/2 (prior knowledge, as nginx's grpc_pass speaks it) on one connection. */
function serveH2c(socket: Socket, ctx: ServeContext): void {
  const peer = { address: socket.remoteAddress, port: socket.remotePort };
  const h2c = createH2Server((req, res) => answer(req, res as unknown as Res, ctx, peer, false));
  h2c.on('sessionError', () => socket.destroy());
  socket.once('close', () => h2c.close());
  h2c.emit('connection', replayable(socket));
}

/**
 * TLS on one connection: HTTP/2 when the client offers it by ALPN, else
 * HTTP/1.1. The TLS server of node:http2 does the handshake, as it must see
 * the connection from its first byte.
 */
function serveTls(socket: Socket, ctx: ServeContext): void {
  if (!certificate) {
    socket.destroy();
    return;
  }
  keyPair ??= certificate();
  keyPair.then(
    ({ cert, key }) => {
      const peer = { address: socket.remoteAddress, port: socket.remotePort };
      const tlsServer = createSecureH2Server({ cert, key, allowHTTP1: true }, (req, res) => answer(req, res as unknown as Res, ctx, peer, true));
      tlsServer.on('tlsClientError', () => socket.destroy());
      socket.once('close', () => tlsServer.close());
      tlsServer.emit('connection', replayable(socket));
    },
    () => {
      keyPair = undefined;
      socket.destroy();
    },
  );
}

/** Serves an accepted connection, answering as `ctx`, in the protocol its first bytes speak. */
export function serveHttpConnection(socket: Socket, ctx: ServeContext): void {
  socket.once('data', (first: Buffer) => {
    socket.pause();
    socket.unshift(first);
    if (first[0] === 0x16) serveTls(socket, ctx);
    else if (first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) serveH2c(socket, ctx);
    else {
      contexts.set(socket, ctx);
      server().emit('connection', socket);
      // The parser reads on from the bytes put back.
      socket.resume();
    }
  });
}

/** Echoes every datagram back to its sender, unchanged. */
export function serveUdpEcho(socket: UdpSocket, onError: (err: Error) => void): void {
  socket.on('message', (msg, rinfo) => {
    socket.send(msg, rinfo.port, rinfo.address, (err) => {
      if (err) onError(err);
    });
  });
}
