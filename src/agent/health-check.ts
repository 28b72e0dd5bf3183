/**
 * kube-proxy's service health check server: for every service with a
 * `healthCheckNodePort` (externalTrafficPolicy Local), each node answers
 * HTTP on that port with 200 when it has local endpoints and 503 when it
 * has none, so a cloud load balancer sends traffic only to nodes that can
 * serve it without a second hop. The body is upstream's JSON.
 */
import { createServer, type Server } from 'node:http';
import { openListeningSocket } from '../kernel/ffi.js';
import { netnsPath } from '../kernel/netns.js';
import type { ProxyNodeInput } from '../model/services.js';
import type { Logger } from '../runtime/log.js';

interface Listener {
  server: Server;
  /** `<ns>/<name>` of the service this port reports on. */
  service: string;
  localEndpoints: number;
}

/** The body kube-proxy's health server answers with. */
export function healthBody(service: string, localEndpoints: number): { status: number; body: string } {
  const [namespace, name] = service.split('/');
  return {
    status: localEndpoints > 0 ? 200 : 503,
    body: `${JSON.stringify({ service: { namespace, name }, localEndpoints, serviceProxyHealthy: true })}\n`,
  };
}

export class HealthCheckServers {
  /** By `<node>/<port>`. */
  private readonly listeners = new Map<string, Listener>();

  constructor(private readonly log: Logger) {}

  /** Opens, updates and closes listeners to match the current kube-proxy view of every node. */
  apply(inputs: ProxyNodeInput[], netnsOf: Map<string, string>): void {
    const wanted = new Map<string, { node: string; port: number; service: string; localEndpoints: number }>();
    for (const input of inputs) {
      const byPort = new Map<number, { service: string; localEndpoints: number }>();
      for (const sp of input.services) {
        if (sp.healthCheckNodePort === undefined) continue;
        // One health port per service: count its local endpoints once, whatever its ports.
        const service = `${sp.namespace}/${sp.service}`;
        const local = new Set(sp.endpoints.filter((e) => e.isLocal).map((e) => e.ip)).size;
        const seen = byPort.get(sp.healthCheckNodePort);
        byPort.set(sp.healthCheckNodePort, { service, localEndpoints: Math.max(local, seen?.localEndpoints ?? 0) });
      }
      for (const [port, v] of byPort) wanted.set(`${input.node}/${port}`, { node: input.node, port, ...v });
    }
    for (const [key, l] of this.listeners) {
      if (!wanted.has(key)) {
        l.server.close();
        this.listeners.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      const existing = this.listeners.get(key);
      if (existing && existing.service === w.service) {
        existing.localEndpoints = w.localEndpoints;
        continue;
      }
      existing?.server.close();
      const netns = netnsOf.get(w.node);
      if (!netns) continue;
      try {
        const fd = openListeningSocket(netnsPath(netns), 'TCP', w.port);
        const listener: Listener = { service: w.service, localEndpoints: w.localEndpoints, server: createServer() };
        listener.server.on('request', (_req, res) => {
          const { status, body } = healthBody(listener.service, listener.localEndpoints);
          res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
          res.end(body);
        });
        listener.server.listen({ fd });
        this.listeners.set(key, listener);
      } catch (err) {
        this.log(`health check node port ${w.port} of ${w.service} on node ${w.node}: ${(err as Error).message}`);
      }
    }
  }

  closeAll(): void {
    for (const l of this.listeners.values()) l.server.close();
    this.listeners.clear();
  }
}
