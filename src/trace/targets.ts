/**
 * What `trace SRC DST` names, resolved against the plan: where the probe
 * starts (a pod, a node, an external client), where it goes (an address, a
 * port, a protocol) and which namespaces the packet can cross, so the trace
 * table goes only there. Pure.
 */
import { resolveTargetPort } from '../model/endpoints.js';
import { resolveTarget, type Target } from '../model/targets.js';
import type { Plan, PodPlan } from '../model/types.js';
import type { ServicePlan } from '../model/services.js';
import { INGRESS_NGINX } from '../spec/ingress.js';
import { LabNotFoundError } from '../util/errors.js';
import { parseIPv4 } from '../util/addresses.js';

export interface TraceSource extends Target {
  ip: string;
}

export type DestinationKind = 'pod' | 'service' | 'node-port' | 'load-balancer' | 'ingress' | 'external-server' | 'address' | 'dns';

export interface TraceDestination {
  kind: DestinationKind;
  label: string;
  ip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** An Ingress URL: the request curl makes, its Host and scheme. */
  http?: { url: string; host: string };
  /** A DNS name: looked up first (that lookup is traced too), then probed at the address it gives. */
  dnsName?: string;
  /** Through ingress-nginx: nginx's own connection to the backends, from each controller pod to these ports. */
  secondLeg?: { from: string[]; ports: number[] };
  /** Pods that may answer (the pod, a service's endpoints, the ingress controllers and backends). */
  candidates: PodPlan[];
  /** Where the probe can end up after DNAT: each candidate's address and port, or the external server's. */
  targets: { ip: string; port: number }[];
}

function sourceIP(plan: Plan, t: Target): string {
  if (t.kind === 'pod') return plan.pods.find((p) => p.key === t.label)!.ip;
  if (t.kind === 'node') return plan.nodes.find((n) => `node/${n.name}` === t.label)!.ip;
  if (t.kind === 'router') return plan.router.ip;
  if (t.kind === 'internet') return plan.internet.ip;
  if (t.kind === 'lb') return plan.internet.loadBalancer.ip;
  const host = [...plan.internet.clients, ...plan.internet.servers].find((h) => h.name === t.label);
  return host!.ip;
}

export function resolveSource(plan: Plan, text: string): TraceSource {
  const t = resolveTarget(plan, text);
  const pod = t.kind === 'pod' ? plan.pods.find((p) => p.key === t.label) : undefined;
  if (pod?.hostNetwork) return { ...t, netns: pod.netns, ip: pod.ip };
  return { ...t, ip: sourceIP(plan, t) };
}

function selected(plan: Plan, svc: ServicePlan): PodPlan[] {
  if (!svc.selector) return [];
  return plan.pods.filter((p) => p.namespace === svc.namespace && !p.terminating && Object.entries(svc.selector!).every(([k, v]) => p.labels[k] === v));
}

/** The service port to probe: the one numbered `port` (or the first), TCP unless --udp; a service with only UDP ports is probed over UDP. */
function servicePort(svc: ServicePlan, port: number | undefined, udp: boolean) {
  const numbered = svc.ports.filter((p) => port === undefined || p.port === port || p.nodePort === port);
  const sp = numbered.find((p) => p.protocol === (udp ? 'UDP' : 'TCP')) ?? (udp ? undefined : numbered[0]);
  if (!sp) throw new LabNotFoundError(`service ${svc.key} has no ${udp ? 'UDP ' : ''}port${port !== undefined ? ` ${port}` : ''}; ports: ${svc.ports.map((p) => `${p.port}/${p.protocol}`).join(', ') || 'none'}`);
  return sp;
}

/** Each endpoint's address and the port the service port sends to on it. */
function endpointTargets(pods: PodPlan[], sp: ServicePlan['ports'][number]): { ip: string; port: number }[] {
  return pods.flatMap((p) => {
    const port = resolveTargetPort(p, sp);
    return port === undefined ? [] : [{ ip: p.ip, port }];
  });
}

function serviceTarget(plan: Plan, svc: ServicePlan, port: number | undefined, udp: boolean): TraceDestination {
  if (!svc.clusterIP || svc.clusterIP === 'None') throw new LabNotFoundError(`service ${svc.key} has no ClusterIP (${svc.type === 'ExternalName' ? `ExternalName ${svc.externalName}` : 'headless'}); trace one of its pods or its DNS name instead`);
  const sp = servicePort(svc, port, udp);
  return { kind: 'service', label: `service ${svc.key} (${svc.clusterIP}:${sp.port}/${sp.protocol})`, ip: svc.clusterIP, port: sp.port, protocol: sp.protocol === 'UDP' ? 'udp' : 'tcp', candidates: selected(plan, svc), targets: endpointTargets(selected(plan, svc), sp) };
}

function ingressTarget(plan: Plan, url: URL, port: number | undefined): TraceDestination {
  const controller = plan.services.find((s) => s.key === `${INGRESS_NGINX.namespace}/${INGRESS_NGINX.service}`);
  if (!controller?.loadBalancerIP) throw new LabNotFoundError(`${url.href}: the lab runs no ingress-nginx with a load-balancer IP (no Ingress is served)`);
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const host = url.hostname.toLowerCase();
  const served = plan.ingresses.flatMap((i) => i.rules.map((r) => ({ i, r }))).filter(({ r }) => r.host === undefined || r.host === host || (r.host.startsWith('*.') && host.endsWith(r.host.slice(1))));
  const backends = served.flatMap(({ i, r }) => r.paths.map((p) => ({ ns: i.namespace, svc: p.backend.service })));
  const pods = new Map<string, PodPlan>();
  const ports = new Set<number>();
  for (const b of backends) {
    const svc = plan.services.find((s) => s.key === `${b.ns}/${b.svc}`);
    if (!svc) continue;
    for (const p of selected(plan, svc)) {
      pods.set(p.key, p);
      for (const sp of svc.ports) {
        const target = resolveTargetPort(p, sp);
        if (target !== undefined) ports.add(target);
        ports.add(sp.port);
      }
    }
  }
  const controllers = selected(plan, controller);
  const p = port ?? (url.port ? Number(url.port) : scheme === 'https' ? 443 : 80);
  return {
    kind: 'ingress',
    label: `${url.href} through ingress-nginx (${controller.loadBalancerIP}:${p})`,
    ip: controller.loadBalancerIP,
    port: p,
    protocol: 'tcp',
    http: { url: url.href, host },
    secondLeg: { from: controllers.map((c) => c.ip), ports: [...ports].sort((a, b) => a - b) },
    candidates: [...controllers, ...pods.values()],
    targets: controller.ports.flatMap((sp) => (sp.port === p ? endpointTargets(controllers, sp) : [])),
  };
}

function firstPort(pod: PodPlan, udp: boolean): number | undefined {
  return pod.containers.flatMap((c) => c.ports).find((p) => (udp ? p.protocol === 'UDP' : p.protocol !== 'UDP'))?.containerPort;
}

/** DST as the user wrote it, with `--port`/`--udp`. */
export function resolveDestination(plan: Plan, text: string, opts: { port?: number; udp?: boolean } = {}): TraceDestination {
  const udp = opts.udp === true;
  const protocol = udp ? 'udp' : 'tcp';
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new LabNotFoundError(`'${text}' is not a URL`);
    }
    return ingressTarget(plan, url, opts.port);
  }
  if (text.startsWith('svc/') || text.startsWith('service/')) {
    const parts = text.split('/').slice(1);
    const key = parts.length === 1 ? `default/${parts[0]}` : parts.join('/');
    const svc = plan.services.find((s) => s.key === key);
    if (!svc) throw new LabNotFoundError(`no service ${key} in lab ${plan.lab}; services: ${plan.services.map((s) => `svc/${s.key}`).join(', ')}`);
    return serviceTarget(plan, svc, opts.port, udp);
  }
  if (text.startsWith('node/')) {
    const node = plan.nodes.find((n) => `node/${n.name}` === text);
    if (!node) throw new LabNotFoundError(`no node '${text.slice(5)}' in lab ${plan.lab}; nodes: ${plan.nodes.map((n) => n.name).join(', ')}`);
    if (opts.port === undefined) throw new LabNotFoundError(`trace to ${text} needs --port (a NodePort or a hostPort)`);
    const svc = plan.services.find((s) => s.ports.some((p) => p.nodePort === opts.port));
    const sp = svc?.ports.find((p) => p.nodePort === opts.port);
    const candidates = svc ? selected(plan, svc) : plan.pods.filter((p) => p.node === node.name);
    const targets = svc && sp ? endpointTargets(candidates, sp) : [{ ip: node.ip, port: opts.port }];
    return { kind: 'node-port', label: `${text} port ${opts.port}${svc ? ` (NodePort of ${svc.key})` : ''}`, ip: node.ip, port: opts.port, protocol, candidates, targets };
  }
  const server = plan.internet.servers.find((s) => s.name === text);
  if (server) return { kind: 'external-server', label: `external server ${server.name} (${server.ip})`, ip: server.ip, port: opts.port ?? server.ports[0] ?? 80, protocol, candidates: [], targets: [{ ip: server.ip, port: opts.port ?? server.ports[0] ?? 80 }] };
  if (parseIPv4(text) !== undefined) {
    const svc = plan.services.find((s) => s.clusterIP === text);
    if (svc) return serviceTarget(plan, svc, opts.port, udp);
    const lb = plan.services.find((s) => s.loadBalancerIP === text);
    if (lb) {
      const sp = servicePort(lb, opts.port, udp);
      return { kind: 'load-balancer', label: `load-balancer IP ${text}:${sp.port} of ${lb.key}`, ip: text, port: sp.port, protocol: sp.protocol === 'UDP' ? 'udp' : 'tcp', candidates: selected(plan, lb), targets: endpointTargets(selected(plan, lb), sp) };
    }
    const pod = plan.pods.find((p) => p.ip === text && !p.hostNetwork);
    if (pod) return podTarget(pod, opts.port, udp);
    const node = plan.nodes.find((n) => n.ip === text);
    if (node && opts.port === undefined) throw new LabNotFoundError(`trace to node address ${text} needs --port`);
    return { kind: 'address', label: text, ip: text, port: opts.port ?? 80, protocol, candidates: [], targets: [{ ip: text, port: opts.port ?? 80 }] };
  }
  const pod = tryPod(plan, text);
  if (pod) return podTarget(pod, opts.port, udp);
  if (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.?$/i.test(text) && text.includes('.')) {
    return { kind: 'dns', label: text, ip: '', port: opts.port ?? 80, protocol, dnsName: text, candidates: [], targets: [] };
  }
  throw new LabNotFoundError(`cannot trace to '${text}': name a pod (ns/pod), a service (svc/ns/name or its ClusterIP), node/NAME with --port, a load-balancer IP, an Ingress URL (https://host/path), an external server or a DNS name`);
}

function tryPod(plan: Plan, text: string): PodPlan | undefined {
  try {
    const t = resolveTarget(plan, text);
    return t.kind === 'pod' ? plan.pods.find((p) => p.key === t.label) : undefined;
  } catch {
    return undefined;
  }
}

function podTarget(pod: PodPlan, port: number | undefined, udp: boolean): TraceDestination {
  const p = port ?? firstPort(pod, udp);
  if (p === undefined) throw new LabNotFoundError(`pod ${pod.key} declares no ${udp ? 'UDP' : 'TCP'} port; give one with --port`);
  return { kind: 'pod', label: `pod ${pod.key} (${pod.ip}:${p})`, ip: pod.ip, port: p, protocol: udp ? 'udp' : 'tcp', candidates: [pod], targets: [{ ip: pod.ip, port: p }] };
}

/** The namespaces a probe from `src` to `dst` can cross: the source, every node, the router and internet side, and the pods that may answer. */
export function pathNamespaces(plan: Plan, src: TraceSource, dst: TraceDestination, extra: PodPlan[] = []): string[] {
  const out = new Set<string>([src.netns, ...plan.nodes.map((n) => n.netns), plan.router.netns, plan.internet.netns, plan.internet.loadBalancer.netns]);
  for (const p of [...dst.candidates, ...extra]) out.add(p.netns);
  for (const s of plan.internet.servers) if (s.ip === dst.ip) out.add(s.netns);
  return [...out];
}
