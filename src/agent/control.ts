/**
 * The agent's control API: HTTP on a Unix socket in the run directory, so it
 * is reachable only from the host's filesystem (root), never from a network.
 *
 *   GET  /status[?after=N&wait=MS]                 AgentStatus; with `after`, once its `generation` is above N
 *                                                  (or MS later, at most 10 s): a client waiting for a state hears of each change
 *   POST /kill?pod=NAMESPACE/NAME[&container=C]    KillResult, 404 if no such pod/container
 *   POST /reload                                   re-read plan.json and reconcile: ReloadResult
 */
import type { NodeCondition } from './node-lifecycle.js';
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AgentStatus, KillResult, ReloadResult } from './protocol.js';
import { NotFoundError } from './supervisor.js';

export interface ControlHandlers {
  status(): AgentStatus;
  /** Resolves once the status generation is above `after`, or after `waitMs`. */
  changes?(after: number, waitMs: number): Promise<void>;
  /** Throws NotFoundError for an unknown pod or container. */
  kill(pod: string, container?: string): KillResult;
  /** The node's link went down (`reachable` false) or came back. */
  node(name: string, reachable: boolean): NodeCondition;
  /** Rejects when plan.json cannot be used; the running containers are then left as they are. */
  reload(): ReloadResult | Promise<ReloadResult>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** sun_path holds 108 bytes including the terminating NUL. */
const UNIX_PATH_MAX = 107;

/** The longest a `GET /status?after=` waits for a change. */
const MAX_STATUS_WAIT_MS = 10_000;

const ROUTES: Record<string, string> = { '/status': 'GET', '/kill': 'POST', '/reload': 'POST', '/node': 'POST' };

function route(h: ControlHandlers, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://agent');
  const method = ROUTES[url.pathname];
  if (!method) {
    send(res, 404, { error: `no route ${url.pathname}; routes: GET /status, POST /kill?pod=NS/NAME[&container=C], POST /reload, POST /node?name=NODE&reachable=true|false` });
    return;
  }
  if (req.method !== method) {
    send(res, 405, { error: `${url.pathname} takes ${method}, not ${req.method}` }, { Allow: method });
    return;
  }
  try {
    if (url.pathname === '/status') {
      const after = Number(url.searchParams.get('after') ?? NaN);
      const wait = Number(url.searchParams.get('wait') ?? 1000);
      if (!h.changes || !Number.isInteger(after) || !Number.isFinite(wait) || wait < 0) send(res, 200, h.status());
      else {
        void h.changes(after, Math.min(wait, MAX_STATUS_WAIT_MS)).then(() => {
          try {
            send(res, 200, h.status());
          } catch (err) {
            failed(req, res, url, err);
          }
        });
      }
    }
    else if (url.pathname === '/kill') {
      const pod = url.searchParams.get('pod');
      if (!pod) {
        send(res, 400, { error: 'POST /kill needs ?pod=NAMESPACE/NAME (and optionally &container=NAME)' });
        return;
      }
      send(res, 200, h.kill(pod, url.searchParams.get('container') ?? undefined));
    } else if (url.pathname === '/node') {
      const name = url.searchParams.get('name');
      const reachable = url.searchParams.get('reachable');
      if (!name || (reachable !== 'true' && reachable !== 'false')) {
        send(res, 400, { error: 'POST /node needs ?name=NODE&reachable=true|false' });
        return;
      }
      send(res, 200, h.node(name, reachable === 'true'));
    } else {
      void Promise.resolve()
        .then(() => h.reload())
        .then(
          (result) => send(res, 200, result),
          (err: unknown) => failed(req, res, url, err),
        );
    }
  } catch (err) {
    failed(req, res, url, err);
  }
}

function failed(req: IncomingMessage, res: ServerResponse, url: URL, err: unknown): void {
  // Not being able to return to our own namespace must end the process, not a request.
  if ((err as { fatal?: unknown })?.fatal === true) throw err;
  if (err instanceof NotFoundError) send(res, 404, { error: err.message });
  else if (url.pathname === '/reload') send(res, 400, { error: `reload refused, the running containers are unchanged: ${(err as Error).message}` });
  else send(res, 500, { error: `${req.method} ${url.pathname} failed in the agent: ${(err as Error).message}; see agent.log` });
}

export function createControlServer(handlers: ControlHandlers): Server {
  return createServer((req, res) => {
    // The request body carries nothing; drain it so keep-alive works.
    req.resume();
    route(handlers, req, res);
  });
}

/** Whether some process answers on the Unix socket at `path`. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Listens on `path`, owner-only. A socket file left by a dead agent is
 * replaced; a live one means another agent serves this run directory.
 */
export async function listenControl(server: Server, path: string): Promise<void> {
  if (Buffer.byteLength(path) > UNIX_PATH_MAX) {
    throw new Error(`the control socket path ${path} is longer than ${UNIX_PATH_MAX} bytes; use a shorter run directory (KUBE_NETLAB_RUN_DIR)`);
  }
  if (await socketAnswers(path)) {
    throw new Error(`another agent already answers on ${path}; stop it (kill the pid in agent.json) or use another run directory`);
  }
  try {
    unlinkSync(path);
  } catch {
    // Nothing there.
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // bind(2) happens inside listen(): the socket file is never group- or world-accessible.
    const umask = process.umask(0o077);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, 0o600);
}
