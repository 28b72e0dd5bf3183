/**
 * The test server's wire side. One HTTP parser serves every TCP port of every
 * container: each accepted connection is injected into it together with the
 * container it belongs to, which keeps the cost per port to one listening
 * socket instead of one `http.Server` each.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { patternChunk, ReadyFlags, respond, type ServeContext } from './responses.js';

/** The `/ready` answers of every pod this agent serves. */
export const readyFlags = new ReadyFlags();

const CHUNK = patternChunk(64 * 1024);

const contexts = new WeakMap<Socket, ServeContext>();
let shared: Server | undefined;

function writeBytes(res: ServerResponse, length: number): void {
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

function handle(req: IncomingMessage, res: ServerResponse): void {
  const ctx = contexts.get(req.socket);
  if (!ctx) {
    // Only sockets handed over by serveHttpConnection reach this server.
    res.destroy();
    return;
  }
  const reply = respond(req.url ?? '/', ctx, { address: req.socket.remoteAddress, port: req.socket.remotePort }, req.method, readyFlags);
  const length = reply.kind === 'bytes' ? reply.length : Buffer.byteLength(reply.body);
  res.writeHead(reply.status, { 'Content-Type': reply.contentType, 'Content-Length': length });
  if (req.method === 'HEAD') res.end();
  else if (reply.kind === 'bytes') writeBytes(res, reply.length);
  else res.end(reply.body);
}

function server(): Server {
  if (!shared) {
    // Never listens itself, so Node starts no request-timeout timer for it:
    // an idle agent keeps no timers at all.
    shared = createServer({ keepAlive: true }, handle);
  }
  return shared;
}

/** Serves HTTP on an accepted connection, answering as `ctx`. */
export function serveHttpConnection(socket: Socket, ctx: ServeContext): void {
  contexts.set(socket, ctx);
  server().emit('connection', socket);
}

/** Echoes every datagram back to its sender, unchanged. */
export function serveUdpEcho(socket: UdpSocket, onError: (err: Error) => void): void {
  socket.on('message', (msg, rinfo) => {
    socket.send(msg, rinfo.port, rinfo.address, (err) => {
      if (err) onError(err);
    });
  });
}
