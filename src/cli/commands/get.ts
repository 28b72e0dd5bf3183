/**
 * `get pods|nodes|svc|ingress|netpol [-n NS] [-o wide|json]`: kubectl-shaped
 * views of the lab, built from the stored plan plus live state (the agent's
 * container status, holder processes, namespaces present).
 */
import { agentStatus, describeDaemon, podReadyFrom, type AgentStatus } from '../../agent/client.js';
import { udpDaemons } from '../../components/udp/daemon.js';
import { labDir, readHolders, readRecord } from '../../apply/state.js';
import { listNamespaces } from '../../kernel/netns.js';
import { isAlive } from '../../kernel/procs.js';
import type { NodePlan, Plan, PodPlan } from '../../model/types.js';
import type { ServicePlan } from '../../model/services.js';
import { INGRESS_NGINX } from '../../spec/ingress.js';
import { serviceEndpoints } from '../../model/endpoints.js';
import { formatSelector } from '../../components/network-policy/selectors.js';
import { networkPolicyJson } from '../../components/network-policy/json.js';
import { flag, usageError, type ParsedArgs } from '../args.js';
import { out, progress } from '../output.js';
import { requirePlan, resolveLabName } from '../resolve.js';
import { age, table } from '../table.js';

const KIND_ALIASES: Record<string, string> = {
  po: 'pods', pod: 'pods', pods: 'pods',
  no: 'nodes', node: 'nodes', nodes: 'nodes',
  svc: 'services', service: 'services', services: 'services',
  ep: 'endpoints', endpoints: 'endpoints',
  ing: 'ingress', ingress: 'ingress', ingresses: 'ingress',
  netpol: 'networkpolicies', networkpolicy: 'networkpolicies', networkpolicies: 'networkpolicies',
};

interface LiveState {
  plan: Plan;
  createdAt?: string;
  agent?: AgentStatus;
  holders: Record<string, number>;
  namespaces: Set<string>;
}

interface PodView {
  pod: PodPlan;
  ready: number;
  total: number;
  status: string;
  restarts: number;
}

function podView(live: LiveState, pod: PodPlan): PodView {
  const containers = live.agent?.containers.filter((c) => c.pod === pod.key) ?? [];
  // READY counts containers that run and pass their readinessProbe, as kubectl does.
  const ready = containers.filter((c) => c.state === 'running' && c.ready !== false).length;
  const restarts = containers.reduce((sum, c) => sum + c.restartCount, 0);
  const holder = live.holders[pod.netns];
  let status = 'Running';
  if (!live.namespaces.has(pod.netns) || holder === undefined || !isAlive(holder)) status = 'Unknown';
  else if (!live.agent) status = 'Unknown';
  else if (containers.some((c) => c.state === 'waiting')) status = 'CrashLoopBackOff';
  else if (ready < pod.containers.length) status = 'Error';
  return { pod, ready, total: pod.containers.length, status, restarts };
}

/** The node's daemons (the udp forwarder) that are not serving; a node without its pod network is NotReady, as with kubelet's NetworkUnavailable. */
function daemonProblems(live: LiveState, node: NodePlan): string[] {
  return udpDaemons(live.plan)
    .filter((spec) => spec.netns === node.netns)
    .flatMap((spec) => {
      const d = live.agent?.daemons.find((x) => x.name === spec.name);
      if (d?.ready) return [];
      return [d ? describeDaemon(d) : `daemon ${spec.name}: unknown (the agent is not answering)`];
    });
}

function nodeReady(live: LiveState, node: NodePlan): boolean {
  const holder = live.holders[node.netns];
  const condition = live.agent?.nodes?.find((n) => n.name === node.name);
  return live.namespaces.has(node.netns) && holder !== undefined && isAlive(holder) && daemonProblems(live, node).length === 0 && condition?.ready !== false;
}

function podJson(live: LiveState, v: PodView) {
  const p = v.pod;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: p.labels,
      ...(p.owner ? { ownerReferences: [{ kind: p.owner.kind, name: p.owner.name }] } : {}),
      annotations: { 'kube-netlab.dev/netns': p.netns, 'kube-netlab.dev/host-veth': p.hostVeth },
      creationTimestamp: live.createdAt,
    },
    spec: {
      nodeName: p.node,
      containers: p.containers.map((c) => ({
        name: c.name,
        ports: c.ports.map((port) => ({ ...(port.name ? { name: port.name } : {}), containerPort: port.containerPort, protocol: port.protocol })),
      })),
    },
    status: {
      phase: v.status === 'Running' ? 'Running' : 'Unknown',
      conditions: [{ type: 'Ready', status: v.ready === v.total ? 'True' : 'False' }],
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      hostIP: live.plan.nodes.find((n) => n.name === p.node)?.ip,
      containerStatuses: p.containers.map((c) => {
        const s = live.agent?.containers.find((x) => x.pod === p.key && x.container === c.name);
        return { name: c.name, ready: s?.state === 'running' && s.ready !== false, restartCount: s?.restartCount ?? 0, state: { [s?.state ?? 'unknown']: {} } };
      }),
    },
  };
}

function nodeJson(live: LiveState, n: NodePlan) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: n.labels,
      annotations: { 'kube-netlab.dev/netns': n.netns, 'kube-netlab.dev/backend': live.plan.spec.podNetwork.backend },
      creationTimestamp: live.createdAt,
    },
    spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] },
    status: {
      addresses: [
        { type: 'InternalIP', address: n.ip },
        { type: 'Hostname', address: n.name },
      ],
      conditions: [
        { type: 'Ready', status: nodeReady(live, n) ? 'True' : 'False' },
        ...networkCondition(live, n),
      ],
    },
  };
}

function networkCondition(live: LiveState, n: NodePlan) {
  if (udpDaemons(live.plan).length === 0) return [];
  const problems = daemonProblems(live, n);
  return [
    problems.length
      ? { type: 'NetworkUnavailable', status: 'True', reason: 'DaemonNotReady', message: problems.join('; ') }
      : { type: 'NetworkUnavailable', status: 'False', reason: 'DaemonReady', message: 'the pod network daemon is serving' },
  ];
}

export async function getCommand(args: ParsedArgs): Promise<number> {
  const [what] = args.positionals;
  const kind = what ? KIND_ALIASES[what] : undefined;
  if (!kind) throw usageError(`get what? one of: pods, nodes, svc, endpoints, ingress, netpol`);
  const output = flag(args, 'output');
  if (output && !['wide', 'json'].includes(output)) throw usageError(`-o ${output}: use -o wide or -o json`);
  const lab = resolveLabName({ name: flag(args, 'name'), files: [] });
  const plan = requirePlan(lab);
  const namespace = flag(args, 'namespace');
  const live: LiveState = {
    plan,
    createdAt: readRecord(lab)?.createdAt,
    agent: await agentStatus(labDir(lab)).catch(() => undefined),
    holders: readHolders(lab),
    namespaces: new Set(listNamespaces()),
  };
  if (!live.agent) progress(`the agent of lab ${lab} is not answering; container states are unknown (see ${labDir(lab)}/agent.log)`);

  if (kind === 'pods') {
    const views = plan.pods.filter((p) => !namespace || p.namespace === namespace).map((p) => podView(live, p));
    if (output === 'json') return printList(views.map((v) => podJson(live, v)));
    if (views.length === 0) {
      progress(`No resources found${namespace ? ` in ${namespace} namespace` : ''}.`);
      return 0;
    }
    const headers = [...(namespace ? [] : ['NAMESPACE']), 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(output === 'wide' ? ['IP', 'NODE'] : [])];
    const rows = views.map((v) => [
      ...(namespace ? [] : [v.pod.namespace]),
      v.pod.name,
      `${v.ready}/${v.total}`,
      v.status,
      String(v.restarts),
      age(live.createdAt),
      ...(output === 'wide' ? [v.pod.ip, v.pod.node] : []),
    ]);
    out(table(headers, rows));
    return 0;
  }
  if (kind === 'nodes') {
    if (output === 'json') return printList(plan.nodes.map((n) => nodeJson(live, n)));
    for (const n of plan.nodes) for (const p of daemonProblems(live, n)) progress(`node ${n.name}: ${p}`);
    const headers = ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', ...(output === 'wide' ? ['INTERNAL-IP', 'POD-CIDR', 'BACKEND'] : [])];
    const rows = plan.nodes.map((n) => [
      n.name,
      nodeReady(live, n) ? 'Ready' : 'NotReady',
      '<none>',
      age(live.createdAt),
      'kube-netlab',
      ...(output === 'wide' ? [n.ip, n.podCIDR, plan.spec.podNetwork.backend] : []),
    ]);
    out(table(headers, rows));
    return 0;
  }
  if (kind === 'services') return getServices(live, namespace, output);
  if (kind === 'endpoints') return getEndpoints(live, namespace, output);
  if (kind === 'ingress') return getIngresses(live, namespace, output);
  return getNetworkPolicies(live, namespace, output);
}

/** kubectl's columns: NAMESPACE, NAME, POD-SELECTOR, AGE; `-o json` gives the objects as the API server stores them (policyTypes defaulted). */
function getNetworkPolicies(live: LiveState, namespace: string | undefined, output: string | undefined): number {
  const all = (live.plan.spec.networkPolicies ?? []).filter((p) => !namespace || p.namespace === namespace);
  if (output === 'json') return printList(all.map((p) => networkPolicyJson(p, live.createdAt)));
  if (all.length === 0) {
    progress(`No resources found${namespace ? ` in ${namespace} namespace` : ''}.`);
    return 0;
  }
  const headers = [...(namespace ? [] : ['NAMESPACE']), 'NAME', 'POD-SELECTOR', 'AGE'];
  out(table(headers, all.map((p) => [...(namespace ? [] : [p.namespace]), p.name, formatSelector(p.podSelector), age(live.createdAt)])));
  return 0;
}

function portsColumn(s: ServicePlan): string {
  if (s.ports.length === 0) return '<none>';
  return s.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',');
}

function externalColumn(s: ServicePlan): string {
  if (s.type === 'ExternalName') return s.externalName ?? '<none>';
  if (s.type === 'LoadBalancer') return s.loadBalancerIP ?? '<pending>';
  return '<none>';
}

function serviceJson(live: LiveState, s: ServicePlan) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, creationTimestamp: live.createdAt },
    spec: {
      type: s.type,
      ...(s.clusterIP ? { clusterIP: s.clusterIP, clusterIPs: [s.clusterIP] } : {}),
      ...(s.selector ? { selector: s.selector } : {}),
      ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.targetPort, ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
      sessionAffinity: s.sessionAffinity,
      ...(s.sessionAffinity === 'ClientIP' ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: s.affinityTimeoutSeconds } } } : {}),
      ...(s.type === 'NodePort' || s.type === 'LoadBalancer' ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
      internalTrafficPolicy: s.internalTrafficPolicy,
      ...(s.healthCheckNodePort ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
      ...(s.externalName ? { externalName: s.externalName } : {}),
      ...(s.loadBalancerSourceRanges ? { loadBalancerSourceRanges: s.loadBalancerSourceRanges } : {}),
    },
    status: { loadBalancer: s.loadBalancerIP ? { ingress: [{ ip: s.loadBalancerIP, ipMode: 'VIP' }] } : {} },
  };
}

function getServices(live: LiveState, namespace: string | undefined, output: string | undefined): number {
  const services = live.plan.services.filter((s) => !namespace || s.namespace === namespace);
  if (output === 'json') return printList(services.map((s) => serviceJson(live, s)));
  if (services.length === 0) {
    progress(`No resources found${namespace ? ` in ${namespace} namespace` : ''}.`);
    return 0;
  }
  const headers = [...(namespace ? [] : ['NAMESPACE']), 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', ...(output === 'wide' ? ['SELECTOR'] : [])];
  const rows = services.map((s) => [
    ...(namespace ? [] : [s.namespace]),
    s.name,
    s.type,
    s.clusterIP ?? '<none>',
    externalColumn(s),
    portsColumn(s),
    age(live.createdAt),
    ...(output === 'wide' ? [s.selector ? Object.entries(s.selector).map(([k, v]) => `${k}=${v}`).join(',') : '<none>'] : []),
  ]);
  out(table(headers, rows));
  return 0;
}

function getEndpoints(live: LiveState, namespace: string | undefined, output: string | undefined): number {
  if (!live.agent) progress('without the agent no pod counts as ready; every endpoint list is empty');
  const all = serviceEndpoints(live.plan, podReadyFrom(live.agent)).filter((e) => !namespace || e.metadata.namespace === namespace);
  if (output === 'json') return printList(all);
  if (all.length === 0) {
    progress(`No resources found${namespace ? ` in ${namespace} namespace` : ''}.`);
    return 0;
  }
  const headers = [...(namespace ? [] : ['NAMESPACE']), 'NAME', 'ENDPOINTS', 'AGE'];
  const rows = all.map((e) => {
    const addrs = e.subsets.flatMap((ss) => ss.addresses.flatMap((a) => ss.ports.map((p) => `${a.ip}:${p.port}`)));
    const shown = addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',') || '<none>';
    return [...(namespace ? [] : [e.metadata.namespace]), e.metadata.name, shown, age(live.createdAt)];
  });
  out(table(headers, rows));
  return 0;
}

/** kubectl's columns; ADDRESS is the controller's load-balancer IP, and only for the Ingresses it serves. */
function getIngresses(live: LiveState, namespace: string | undefined, output: string | undefined): number {
  const served = new Set(live.plan.ingresses);
  const lb = live.plan.services.find((s) => s.namespace === INGRESS_NGINX.namespace && s.name === INGRESS_NGINX.service)?.loadBalancerIP;
  const all = (live.plan.spec.ingresses ?? []).filter((i) => !namespace || i.namespace === namespace);
  if (output === 'json') {
    return printList(
      all.map((i) => ({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: i.name, namespace: i.namespace, creationTimestamp: live.createdAt },
        spec: {
          ...(i.ingressClassName ? { ingressClassName: i.ingressClassName } : {}),
          ...(i.defaultBackend ? { defaultBackend: { service: i.defaultBackend } } : {}),
          ...(i.tls.length ? { tls: i.tls } : {}),
          rules: i.rules.map((r) => ({ ...(r.host ? { host: r.host } : {}), http: { paths: r.paths.map((p) => ({ path: p.path, pathType: p.pathType, backend: { service: p.backend } })) } })),
        },
        status: { loadBalancer: served.has(i) && lb ? { ingress: [{ ip: lb }] } : {} },
      })),
    );
  }
  if (all.length === 0) {
    progress(`No resources found${namespace ? ` in ${namespace} namespace` : ''}.`);
    return 0;
  }
  const headers = [...(namespace ? [] : ['NAMESPACE']), 'NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'];
  const rows = all.map((i) => {
    const hosts = [...new Set(i.rules.map((r) => r.host ?? '*'))];
    return [
      ...(namespace ? [] : [i.namespace]),
      i.name,
      i.ingressClassName ?? '<none>',
      hosts.join(',') || '*',
      served.has(i) && lb ? lb : '',
      i.tls.length ? '80, 443' : '80',
      age(live.createdAt),
    ];
  });
  out(table(headers, rows));
  return 0;
}

function printList(items: unknown[]): number {
  out(JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items }, null, 2) + '\n');
  return 0;
}
