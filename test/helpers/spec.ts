/** Builds LabSpecs in code for tests of the pure layers (no YAML involved). */
import type { ServiceSpec } from '../../dist/spec/services.js';
import type { Plan } from '../../dist/model/types.js';
import type { LabSpec, PodSpec } from '../../dist/spec/lab.js';

export function pod(namespace: string, name: string, extra: Partial<PodSpec> = {}): PodSpec {
  return {
    namespace,
    name,
    labels: { app: name },
    containers: [{ name: 'main', ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
    dnsPolicy: 'ClusterFirst',
    source: { file: 'test.yaml', line: 1 },
    ...extra,
  };
}

/** A ClusterIP service named like the pods it selects (`app: <name>`), port http 80 -> 8080. */
export function service(namespace: string, name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    namespace,
    name,
    type: 'ClusterIP',
    selector: { app: name },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    source: { file: 'svc.yaml', line: 1 },
    ...extra,
  };
}

export function labSpec(overrides: Partial<LabSpec> = {}): LabSpec {
  return {
    name: 't',
    source: { file: 'test.yaml', line: 1 },
    nodes: ['node1', 'node2', 'node3'].map((name) => ({ name, labels: { 'kubernetes.io/hostname': name }, source: { file: 'test.yaml', line: 1 } })),
    nodeNetwork: '192.168.56.0/24',
    mtu: 1500,
    podNetwork: { cidr: '10.244.0.0/16', backend: 'host-gw', vxlan: { port: 8472, vni: 1 }, udp: { port: 8285 } },
    serviceNetwork: { cidr: '10.96.0.0/12', proxyMode: 'iptables' },
    clusterDomain: 'cluster.local',
    nodeMonitorGracePeriodSeconds: 40,
    external: { cidr: '203.0.113.0/24', servers: [] },
    namespaces: ['default'],
    namespaceLabels: {},
    pods: [],
    services: [],
    deployments: [],
    statefulSets: [],
    ingresses: [],
    ingressClasses: [],
    tlsSecrets: [],
    networkPolicies: [],
    reachabilityTests: [],
    notices: [],
    files: ['test.yaml'],
    ...overrides,
  };
}

/** The plan's pods and services without the cluster DNS add-on every lab gets (kube-system), for tests about the file's own. */
export const filePods = (plan: Plan) => plan.pods.filter((p) => p.namespace !== 'kube-system');
export const fileServices = (plan: Plan) => plan.services.filter((s) => s.namespace !== 'kube-system');
