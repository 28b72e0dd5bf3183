/**
 * What the test server answers, as pure functions of the request path, the
 * container it runs for and the peer address the socket saw. Every answer
 * names the pod and the client address, so a probe can tell which endpoint
 * it reached and whether the path it took was NATed.
 */

/** Largest body `/bytes/N` sends: big enough for throughput checks, small enough not to tie up the agent. */
export const MAX_BYTES = 100 * 1024 * 1024;

/** Who is answering: one container of one pod, on one port. */
export interface ServeContext {
  pod: string;
  namespace: string;
  container: string;
  node: string;
  podIP: string;
  serverPort: number;
}

/** The remote end of the connection, as the socket reported it. */
export interface Peer {
  address?: string;
  port?: number;
}

export interface TextReply {
  kind: 'text';
  status: number;
  contentType: string;
  body: string;
}

/** A body of `length` bytes, streamed by the server rather than built in memory. */
export interface BytesReply {
  kind: 'bytes';
  status: 200;
  contentType: 'application/octet-stream';
  length: number;
}

export type Reply = TextReply | BytesReply;

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

export const ROUTES = ['/', '/hostname', '/clientip', '/bytes/N', '/ready', 'POST /ready?state=true|false'];

/**
 * Whether each pod's test server reports ready on `/ready`, by pod key
 * (`<namespace>/<pod>`). Shared by all containers of a pod, so a probe on
 * `/ready` can be flipped from inside the pod on any of its ports.
 */
export class ReadyFlags {
  private readonly notReady = new Set<string>();
  isReady(pod: string): boolean {
    return !this.notReady.has(pod);
  }
  set(pod: string, ready: boolean): void {
    if (ready) this.notReady.delete(pod);
    else this.notReady.add(pod);
  }
}

/** IPv4 peers of a dual-stack socket appear as `::ffff:a.b.c.d`; users expect `a.b.c.d`. */
export function normaliseIP(address: string | undefined): string {
  if (!address) return '';
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m ? m[1]! : address;
}

function json(status: number, value: unknown): TextReply {
  return { kind: 'text', status, contentType: JSON_TYPE, body: JSON.stringify(value) + '\n' };
}

function text(body: string): TextReply {
  return { kind: 'text', status: 200, contentType: TEXT_TYPE, body };
}

/** What the request itself said, for answers that echo it (behind an ingress: the rewritten path, the Host header). */
export interface RequestSeen {
  /** The request target as received: path and query. */
  target: string;
  host?: string;
  /** `h2` when the request came over HTTP/2 (gRPC, or ALPN h2). */
  protocol?: string;
  tls?: boolean;
}

/** The identity document of `GET /`. */
export function identity(ctx: ServeContext, peer: Peer, seen?: RequestSeen) {
  return {
    pod: ctx.pod,
    namespace: ctx.namespace,
    container: ctx.container,
    node: ctx.node,
    podIP: ctx.podIP,
    clientIP: normaliseIP(peer.address),
    clientPort: peer.port ?? 0,
    serverPort: ctx.serverPort,
    ...(seen ? { request: { target: seen.target, ...(seen.host !== undefined ? { host: seen.host } : {}), ...(seen.protocol ? { protocol: seen.protocol } : {}), ...(seen.tls ? { tls: true } : {}) } } : {}),
  };
}

/**
 * The reply to a request for `url` (path and optional query). Any method is
 * answered the same way, so probes through proxies that rewrite the method,
 * or `curl -d`, still reach the route they name.
 */
export function respond(url: string, ctx: ServeContext, peer: Peer, method = 'GET', flags?: ReadyFlags, seen?: Omit<RequestSeen, 'target'>): Reply {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const request = seen ? { ...seen, target: url } : undefined;
  if (path === '/') return json(200, identity(ctx, peer, request));
  if (path === '/ready') return ready(url, ctx, method, flags);
  if (path === '/hostname') return text(`${ctx.pod}\n`);
  if (path === '/clientip') return text(`${normaliseIP(peer.address)}\n`);
  if (path.startsWith('/bytes/')) {
    const n = path.slice('/bytes/'.length);
    const length = /^\d{1,9}$/.test(n) ? Number(n) : NaN;
    if (!(length >= 0 && length <= MAX_BYTES)) {
      return json(400, { error: `/bytes/N takes a whole number of bytes from 0 to ${MAX_BYTES}, not '${n}'`, path });
    }
    return { kind: 'bytes', status: 200, contentType: 'application/octet-stream', length };
  }
  // Who answered, too: behind an ingress a path the test server does not serve still shows which backend got it.
  return json(404, { error: 'not found', path, routes: ROUTES, ...identity(ctx, peer, request) });
}

function ready(url: string, ctx: ServeContext, method: string, flags: ReadyFlags | undefined): TextReply {
  const key = `${ctx.namespace}/${ctx.pod}`;
  if (method === 'POST' || method === 'PUT') {
    const state = new URLSearchParams(url.split('?')[1] ?? '').get('state');
    if (state !== 'true' && state !== 'false') {
      return json(400, { error: `POST /ready takes ?state=true or ?state=false, not ${JSON.stringify(state)}`, path: '/ready' });
    }
    flags?.set(key, state === 'true');
  }
  const isReady = flags?.isReady(key) ?? true;
  return { kind: 'text', status: isReady ? 200 : 503, contentType: TEXT_TYPE, body: isReady ? 'ready\n' : 'not ready\n' };
}

/** A chunk of the repeating pattern `/bytes/N` is made of (printable, so it is safe in a terminal). */
export function patternChunk(size: number): Buffer {
  const alphabet = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789\n');
  const chunk = Buffer.alloc(size);
  for (let i = 0; i < size; i += alphabet.length) alphabet.copy(chunk, i, 0, Math.min(alphabet.length, size - i));
  return chunk;
}
