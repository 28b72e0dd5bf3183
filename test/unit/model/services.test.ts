import t from 'tap';
import { proxyInputs, serviceEndpoints } from '../../../dist/model/endpoints.js';
import { planLab } from '../../../dist/model/plan.js';
import type { ServicePortSpec, ServiceSpec } from '../../../dist/spec/services.js';
import type { LabSpec, PodSpec } from '../../../dist/spec/lab.js';
import { ConfigError } from '../../../dist/util/errors.js';
import { fileServices, labSpec, pod } from '../../helpers/spec.js';

let line = 100;
/** A ClusterIP service selecting app=<name> on port 80, each on its own source line. */
function service(namespace: string, name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    namespace,
    name,
    type: 'ClusterIP',
    selector: { app: name },
    ports: [{ protocol: 'TCP', port: 80, targetPort: 8080 }],
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    source: { file: 'svc.yaml', line: line++ },
    ...extra,
  };
}

const nodePort = (ports: ServicePortSpec[] = [{ protocol: 'TCP', port: 80, targetPort: 8080 }], extra: Partial<ServiceSpec> = {}): Partial<ServiceSpec> => ({
  type: 'NodePort',
  ports,
  ...extra,
});

function problemsOf(spec: LabSpec, previous?: ReturnType<typeof planLab>) {
  try {
    planLab(spec, previous);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const ips = (spec: LabSpec, previous?: ReturnType<typeof planLab>) => Object.fromEntries(fileServices(planLab(spec, previous)).map((s) => [s.key, s.clusterIP]));

t.test('default/kubernetes is always there: the first address, https 443 to the API server stand-in on the first node', async (t) => {
  const plan = planLab(labSpec());
  t.same(fileServices(plan), [
    {
      namespace: 'default',
      name: 'kubernetes',
      key: 'default/kubernetes',
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }],
      sessionAffinity: 'None',
      affinityTimeoutSeconds: 10800,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      staticEndpoints: [{ ip: '192.168.56.11', port: 6443, nodeName: 'node1' }],
    },
  ]);
  t.equal(planLab(labSpec({ serviceNetwork: { cidr: '172.30.0.0/16', proxyMode: 'nftables' } })).services[0]!.clusterIP, '172.30.0.1');
});

t.test('ClusterIPs: asked-for ones honoured, the rest from .11 up, .10 kept for kube-dns, sorted by namespace and name', async (t) => {
  const spec = labSpec({
    namespaces: ['default', 'shop', 'kube-system'],
    services: [
      service('shop', 'z'),
      service('default', 'fixed', { clusterIP: '10.96.0.11' }),
      service('default', 'a'),
      service('shop', 'db', { clusterIP: 'None' }),
      service('default', 'ext', { type: 'ExternalName', externalName: 'db.example.com', ports: [] }),
      service('kube-system', 'kube-dns'),
    ],
  });
  const plan = planLab(spec);
  t.same(
    plan.services.map((s) => [s.key, s.clusterIP]),
    [
      ['default/a', '10.96.0.13'],
      ['default/ext', undefined],
      ['default/fixed', '10.96.0.11'],
      ['default/kubernetes', '10.96.0.1'],
      ['kube-system/kube-dns', '10.96.0.10'],
      ['shop/db', 'None'],
      ['shop/z', '10.96.0.12'],
    ],
  );
  t.same(planLab(spec), plan, 'deterministic');
});

t.test('a small service network: .10 is never handed out, and running out is a capacity error at the service', async (t) => {
  const small = (n: number) => labSpec({ serviceNetwork: { cidr: '10.96.0.0/28', proxyMode: 'iptables' }, services: Array.from({ length: n }, (_, i) => service('default', `s${i}`)) });
  t.same(Object.values(ips(small(4))).sort(), ['10.96.0.1', '10.96.0.11', '10.96.0.12', '10.96.0.13', '10.96.0.14']);
  const five = small(5);
  const ps = problemsOf(five);
  t.same(ps.map((p) => [p.code, p.source?.file, p.source?.line]), [['capacity', 'svc.yaml', five.services[4]!.source.line]]);
  t.match(ps[0]!.message, /Service default\/s4: spec\.serviceNetwork\.cidr 10\.96\.0\.0\/28 has no free ClusterIP left/);
});

t.test('a previous plan keeps every surviving service on its ClusterIP; freed addresses are reused lowest first', async (t) => {
  const first = planLab(labSpec({ services: [service('default', 'a'), service('default', 'b'), service('default', 'c')] }));
  t.same(ips(labSpec({ services: [service('default', 'a'), service('default', 'b'), service('default', 'c')] })), {
    'default/a': '10.96.0.11',
    'default/b': '10.96.0.12',
    'default/c': '10.96.0.13',
    'default/kubernetes': '10.96.0.1',
  });
  // `new` comes first in the file: without the previous plan it would take .11 and push the others along.
  const second = planLab(labSpec({ services: [service('default', 'new'), service('default', 'other'), service('default', 'c'), service('default', 'b')] }), first);
  t.same(Object.fromEntries(fileServices(second).map((s) => [s.key, s.clusterIP])), {
    'default/b': '10.96.0.12',
    'default/c': '10.96.0.13',
    'default/kubernetes': '10.96.0.1',
    'default/new': '10.96.0.11',
    'default/other': '10.96.0.14',
  });
  t.same(planLab(labSpec({ services: [service('default', 'c')] }), first).services.find((s) => s.name === 'c')!.clusterIP, '10.96.0.13', 'also when every other service is gone');
});

t.test('asking for an address the running lab gave another service is refused, as the API server does', async (t) => {
  const first = planLab(labSpec({ services: [service('default', 'a')] }));
  const spec = labSpec({ services: [service('default', 'a'), service('default', 'b', { clusterIP: '10.96.0.11' })] });
  const ps = problemsOf(spec, first);
  t.same(ps.map((p) => [p.code, p.source?.line]), [['duplicate', spec.services[1]!.source.line]]);
  t.match(ps[0]!.message, 'clusterIP 10.96.0.11 is already allocated to Service default/a of the running lab');
  t.same(ips(spec)['default/a'], '10.96.0.12', 'without a running lab the asked-for address wins');
});

t.test('the planner refuses reserved and foreign addresses even without the config layer', async (t) => {
  for (const [ip, why] of [
    ['10.96.0.1', 'already allocated to Service default/kubernetes'],
    ['10.96.0.10', 'reserved for Service kube-system/kube-dns'],
    ['10.200.0.1', 'outside spec.serviceNetwork.cidr'],
  ]) {
    const ps = problemsOf(labSpec({ services: [service('default', 'x', { clusterIP: ip })] }));
    t.match(ps[0]!.message, why!, ip!);
  }
});

t.test('node ports: asked-for ones honoured, the rest from 30000 up, for NodePort and LoadBalancer only', async (t) => {
  const spec = labSpec({
    services: [
      service('default', 'a', nodePort([{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }, { name: 'fixed', protocol: 'TCP', port: 81, targetPort: 81, nodePort: 30001 }])),
      service('default', 'dns', nodePort([{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 30053 }, { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53, nodePort: 30053 }])),
      service('default', 'lb', { type: 'LoadBalancer' }),
      service('default', 'lb-none', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false }),
      service('default', 'plain'),
    ],
  });
  const plan = planLab(spec);
  t.same(
    Object.fromEntries(fileServices(plan).map((s) => [s.name, s.ports.map((p) => p.nodePort)])),
    { a: [30000, 30001], dns: [30053, 30053], kubernetes: [undefined], lb: [30002], 'lb-none': [undefined], plain: [undefined] },
  );
  t.same(plan.services.map((s) => s.healthCheckNodePort), plan.services.map(() => undefined), 'Cluster policy: no health check port');
});

t.test('health-check node ports for Local NodePort and LoadBalancer services', async (t) => {
  const spec = labSpec({
    services: [
      service('default', 'np', nodePort(undefined, { externalTrafficPolicy: 'Local' })),
      service('default', 'lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 30000 }),
    ],
  });
  const plan = planLab(spec);
  t.same(
    plan.services.filter((s) => s.type !== 'ClusterIP').map((s) => [s.name, s.ports[0]!.nodePort, s.healthCheckNodePort]),
    [
      ['lb', 30003, 30000],
      ['np', 30001, 30002],
    ],
    'allocated in input order, around the asked-for 30000',
  );
});

t.test('node ports survive a previous plan; a service made ClusterIP gives its ports back', async (t) => {
  const first = planLab(labSpec({ services: [service('default', 'a', nodePort()), service('default', 'b', nodePort(undefined, { externalTrafficPolicy: 'Local' }))] }));
  t.same(first.services.filter((s) => s.type === 'NodePort').map((s) => [s.name, s.ports[0]!.nodePort, s.healthCheckNodePort]), [
    ['a', 30000, undefined],
    ['b', 30001, 30002],
  ]);
  const second = planLab(
    labSpec({
      services: [
        service('default', 'new', nodePort()),
        service('default', 'b', nodePort([{ protocol: 'TCP', port: 80, targetPort: 9090 }, { name: 'more', protocol: 'UDP', port: 80, targetPort: 80 }], { externalTrafficPolicy: 'Local' })),
        service('default', 'a'),
      ],
    }),
    first,
  );
  t.same(
    fileServices(second).map((s) => [s.name, s.ports.map((p) => p.nodePort), s.healthCheckNodePort]),
    [
      ['a', [undefined], undefined],
      ['b', [30001, 30003], 30002],
      ['kubernetes', [undefined], undefined],
      ['new', [30000], undefined],
    ],
    'ports match by port and protocol: 80/TCP keeps its node port whatever the targetPort',
  );
});

t.test('node port conflicts with the running lab, and an exhausted range', async (t) => {
  const first = planLab(labSpec({ services: [service('default', 'a', nodePort())] }));
  const spec = labSpec({ services: [service('default', 'a', nodePort()), service('default', 'b', nodePort([{ protocol: 'UDP', port: 53, targetPort: 53, nodePort: 30000 }]))] });
  const ps = problemsOf(spec, first);
  t.same(ps.map((p) => [p.code, p.source?.line]), [['duplicate', spec.services[1]!.source.line]]);
  t.match(ps[0]!.message, 'nodePort 30000 is already allocated to Service default/a of the running lab');

  const many: ServicePortSpec[] = Array.from({ length: 2768 }, (_, i) => ({ name: `p${i}`, protocol: 'TCP', port: i + 1, targetPort: i + 1 }));
  t.equal(planLab(labSpec({ services: [service('default', 'all', nodePort(many))] })).services[0]!.ports.at(-1)!.nodePort, 32767);
  const full = labSpec({ services: [service('default', 'all', nodePort(many)), service('default', 'one', nodePort())] });
  const fullProblems = problemsOf(full);
  t.same(fullProblems.map((p) => [p.code, p.source?.line]), [['capacity', full.services[1]!.source.line]]);
  t.match(fullProblems[0]!.message, 'no free node port left in 30000-32767');
});

t.test('pod and service problems are reported together', async (t) => {
  const spec = labSpec({
    pods: [pod('default', 'lost', { nodeSelector: { zone: 'mars' } })],
    services: [service('default', 'x', { clusterIP: '10.96.0.10' })],
  });
  t.same(problemsOf(spec).map((p) => p.code), ['unknown-node', 'bad-value']);
});

// ---------------------------------------------------------------------------
// Endpoints

/** A web pod on a given node, with named ports http 8080/TCP and metrics 9090/TCP, and dns 53/UDP. */
function webPod(namespace: string, name: string, node: string, extra: Partial<PodSpec> = {}): PodSpec {
  return pod(namespace, name, {
    labels: { app: 'web', tier: 'front' },
    nodeName: node,
    containers: [
      { name: 'web', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] },
      { name: 'sidecar', ports: [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }] },
    ],
    ...extra,
  });
}

function endpointLab(services: ServiceSpec[], pods: PodSpec[] = []) {
  return planLab(
    labSpec({
      namespaces: ['default', 'other'],
      pods: [
        webPod('default', 'w1', 'node2'),
        webPod('default', 'w2', 'node1'),
        // Named ports resolve per pod: this one serves `http` elsewhere.
        webPod('default', 'w3', 'node2', { containers: [{ name: 'web', ports: [{ name: 'http', containerPort: 8081, protocol: 'TCP' }] }] }),
        webPod('other', 'w4', 'node1'),
        pod('default', 'front-only', { labels: { tier: 'front' }, nodeName: 'node3' }),
        ...pods,
      ],
      services,
    }),
  );
}

t.test('proxyInputs: one view per node, named and numeric targetPorts, ready pods in the same namespace', async (t) => {
  const plan = endpointLab([
    service('default', 'web', {
      selector: { app: 'web', tier: 'front' },
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' },
        { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 'metrics' },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 'dns' },
        { name: 'raw', protocol: 'TCP', port: 81, targetPort: 7000 },
        // `dns` is a UDP port: a TCP service port of that name finds nothing.
        { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 'dns' },
      ],
    }),
  ]);
  const ready = (key: string) => key !== 'default/w3';
  const inputs = proxyInputs(plan, ready);
  t.same(inputs.map((i) => [i.node, i.nodeIP, i.clusterCIDR, i.masqueradeBit]), [
    ['node1', '192.168.56.11', '10.244.0.0/16', 14],
    ['node2', '192.168.56.12', '10.244.0.0/16', 14],
    ['node3', '192.168.56.13', '10.244.0.0/16', 14],
  ]);
  const ip = (name: string) => plan.pods.find((p) => p.name === name)!.ip;
  const node1 = inputs[0]!.services.filter((s) => s.namespace !== 'kube-system');
  t.same(
    node1.map((s) => [s.namespace, s.service, s.portName, s.protocol, s.port]),
    [
      ['default', 'kubernetes', 'https', 'TCP', 443],
      ['default', 'web', 'dns', 'UDP', 53],
      ['default', 'web', 'dns-tcp', 'TCP', 53],
      ['default', 'web', 'http', 'TCP', 80],
      ['default', 'web', 'metrics', 'TCP', 9090],
      ['default', 'web', 'raw', 'TCP', 81],
    ],
    'sorted by namespace, service, port name, protocol',
  );
  const eps = (portName: string) => node1.find((s) => s.service === 'web' && s.portName === portName)!.endpoints.map((e) => [e.ip, e.port, e.nodeName, e.isLocal]);
  // w1 on node2 and w2 on node1; w3 is not ready; w4 is in another namespace; front-only lacks app=web.
  const both = (port: number) =>
    [
      [ip('w2'), port, 'node1', true],
      [ip('w1'), port, 'node2', false],
    ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string, undefined, { numeric: true }));
  t.same(eps('http'), both(8080));
  t.same(eps('metrics'), both(9090), 'a named port of another container of the pod');
  t.same(eps('dns'), both(5353));
  t.same(eps('raw'), both(7000));
  t.same(eps('dns-tcp'), [], 'no pod has a TCP port named dns');
  t.same(
    inputs[1]!.services.find((s) => s.portName === 'http')!.endpoints.map((e) => [e.nodeName, e.isLocal]),
    both(8080).map((e) => [e[2], e[2] === 'node2']),
    'isLocal from each node',
  );

  const all = proxyInputs(plan, () => true)[0]!.services.find((s) => s.portName === 'http')!.endpoints;
  t.same(all.map((e) => [e.ip, e.port]), [[ip('w2'), 8080], [ip('w1'), 8080], [ip('w3'), 8081]].sort((a, b) => (a[0] as string).localeCompare(b[0] as string, undefined, { numeric: true })), 'once ready, w3 serves http on its own port');
});

t.test('proxyInputs: endpoints sort by numeric IP, then port', async (t) => {
  const pods = Array.from({ length: 12 }, (_, i) => webPod('default', `p${i}`, 'node1'));
  const plan = planLab(labSpec({ pods, services: [service('default', 'web', { selector: { app: 'web' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 'http' }] })] }));
  const ips = proxyInputs(plan, () => true)[0]!.services.find((s) => s.service === 'web')!.endpoints.map((e) => e.ip);
  t.same(ips, Array.from({ length: 12 }, (_, i) => `10.244.0.${i + 2}`), '10.244.0.10 after 10.244.0.9');
});

t.test('proxyInputs: policies, affinity, node ports; headless, ExternalName and selector-less services', async (t) => {
  const plan = endpointLab([
    service('default', 'np', {
      type: 'NodePort',
      selector: { app: 'web' },
      ports: [{ protocol: 'TCP', port: 80, targetPort: 'http' }],
      externalTrafficPolicy: 'Local',
      internalTrafficPolicy: 'Local',
      sessionAffinity: 'ClientIP',
      affinityTimeoutSeconds: 60,
    }),
    service('default', 'cluster', { selector: { app: 'web' }, internalTrafficPolicy: 'Local', externalTrafficPolicy: 'Local' }),
    service('default', 'headless', { clusterIP: 'None', selector: { app: 'web' } }),
    service('default', 'ext', { type: 'ExternalName', externalName: 'a.example', ports: [] }),
    service('default', 'manual', { selector: undefined }),
    service('default', 'nobody', { selector: { app: 'none' } }),
    service('default', 'unready', { selector: { app: 'web' }, publishNotReadyAddresses: true }),
  ]);
  const view = proxyInputs(plan, () => false)[0]!.services.filter((s) => s.namespace !== 'kube-system');
  t.same(view.map((s) => s.service), ['cluster', 'kubernetes', 'manual', 'nobody', 'np', 'unready'], 'no headless or ExternalName service');
  const np = view.find((s) => s.service === 'np')!;
  t.same(
    { portName: np.portName, nodePort: np.nodePort, affinity: np.affinityTimeoutSeconds, ext: np.externalPolicyLocal, int: np.internalPolicyLocal, hc: np.healthCheckNodePort, lb: np.loadBalancerIPs },
    { portName: '', nodePort: 30000, affinity: 60, ext: true, int: true, hc: 30001, lb: [] },
  );
  const cluster = view.find((s) => s.service === 'cluster')!;
  t.same([cluster.externalPolicyLocal, cluster.internalPolicyLocal, cluster.affinityTimeoutSeconds, cluster.nodePort], [false, true, undefined, undefined], 'externalTrafficPolicy means nothing without node ports');
  t.same(view.find((s) => s.service === 'manual')!.endpoints, [], 'a service without selector has no managed endpoints');
  t.same(view.find((s) => s.service === 'np')!.endpoints, [], 'nothing ready, no endpoints');
  t.equal(view.find((s) => s.service === 'unready')!.endpoints.length, 3, 'publishNotReadyAddresses lists not-ready pods');
  t.same(view.find((s) => s.service === 'kubernetes')!.endpoints, [{ ip: '192.168.56.11', port: 6443, nodeName: 'node1', isLocal: true }], 'the static endpoint needs no readiness');
  t.same(proxyInputs(plan, () => false)[1]!.services.find((s) => s.service === 'kubernetes')!.endpoints[0]!.isLocal, false);
});

t.test('serviceEndpoints: kubectl Endpoints, one subset per set of resolved ports, not-ready pods apart', async (t) => {
  const plan = endpointLab([
    service('default', 'web', { selector: { app: 'web' }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }] }),
    service('default', 'headless', { clusterIP: 'None', selector: { tier: 'front' }, ports: [] }),
    service('default', 'ext', { type: 'ExternalName', externalName: 'a.example', ports: [] }),
    service('default', 'manual', { selector: undefined }),
  ]);
  const ip = (name: string) => plan.pods.find((p) => p.name === name)!.ip;
  const node = (name: string) => plan.pods.find((p) => p.name === name)!.node;
  const addr = (name: string) => ({ ip: ip(name), nodeName: node(name), targetRef: { kind: 'Pod', namespace: 'default', name } });
  const all = serviceEndpoints(plan, (key) => key !== 'default/w2').filter((e) => e.metadata.namespace !== 'kube-system');
  t.same(all.map((e) => e.metadata.name), ['headless', 'kubernetes', 'web'], 'none for ExternalName or selector-less services');
  t.same(all.find((e) => e.metadata.name === 'kubernetes'), {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '192.168.56.11', nodeName: 'node1' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
  });
  t.same(all.find((e) => e.metadata.name === 'web')!.subsets, [
    { addresses: [addr('w1')], notReadyAddresses: [addr('w2')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    { addresses: [addr('w3')], ports: [{ name: 'http', port: 8081, protocol: 'TCP' }] },
  ]);
  const headless = all.find((e) => e.metadata.name === 'headless')!.subsets;
  t.same(headless.length, 1);
  t.same(headless[0]!.ports, [], 'a headless service without ports lists its pods bare');
  t.same(
    [...headless[0]!.addresses, ...(headless[0]!.notReadyAddresses ?? [])].map((a) => a.targetRef?.name).sort(),
    ['front-only', 'w1', 'w2', 'w3'],
  );
});
