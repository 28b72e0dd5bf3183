/**
 * The upstream NetworkPolicy e2e model as lab manifests: namespaces x, y, z
 * (label ns=<name>), pods a, b, c in each (label pod=<name>) serving ports 80
 * and 81 over TCP and UDP (container ports named serve-<port>-<proto>), each
 * pod behind its own Service s-<ns>-<pod>. Used by the engine's unit tests
 * and the integration tests, which apply the same cases to a real lab.
 */
import type { Plan } from '../../dist/model/types.js';
import type { CaseStep, Edit, Expectation, PeerRef } from '../fixtures/netpol/upstream-cases.js';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;
export const PORTS = [80, 81] as const;
/** The test server speaks these; SCTP cells are predicted only. */
export const SERVED = ['TCP', 'UDP'] as const;
export const MODEL_PODS = NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}`));

export function labDocument(name: string, backend: string, proxyMode: string): string {
  return `apiVersion: kube-netlab.dev/v1alpha1
kind: Lab
metadata: {name: ${name}}
spec:
  podNetwork: {backend: ${backend}}
  serviceNetwork: {proxyMode: ${proxyMode}}
`;
}

function labelsYaml(labels: Record<string, string>): string {
  return `{${Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
}

/** Namespaces, pods and per-pod Services; `step` changes labels as the case says. */
export function modelManifests(step: Pick<CaseStep, 'namespaceLabels' | 'podLabels'> = {}): string {
  const docs: string[] = [];
  for (const ns of NAMESPACES) {
    const labels: Record<string, string> = { ns };
    for (const [k, v] of Object.entries(step.namespaceLabels?.[ns] ?? {})) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: ${labelsYaml(labels)}}\n`);
  }
  for (const ns of NAMESPACES) {
    for (const pod of PODS) {
      const labels = step.podLabels?.[`${ns}/${pod}`] ?? { pod };
      const containers = PORTS.flatMap((port) =>
        SERVED.map((proto) => `    - {name: cont-${port}-${proto.toLowerCase()}, ports: [{name: serve-${port}-${proto.toLowerCase()}, containerPort: ${port}, protocol: ${proto}}]}`),
      );
      docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: ${pod}, namespace: ${ns}, labels: ${labelsYaml(labels)}}\nspec:\n  containers:\n${containers.join('\n')}\n`);
      const ports = PORTS.flatMap((port) => SERVED.map((proto) => `    - {name: service-port-${proto.toLowerCase()}-${port}, port: ${port}, protocol: ${proto}}`));
      docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: s-${ns}-${pod}, namespace: ${ns}}\nspec:\n  selector: {pod: ${pod}}\n  ports:\n${ports.join('\n')}\n`);
    }
  }
  return docs.join('---\n');
}

/** Replaces ${podIP:x/a} and ${podCIDR:x/a} with the plan's addresses. */
export function substitute(text: string, plan: Plan): string {
  return text.replace(/\$\{(podIP|podCIDR):([a-z])\/([a-z])\}/g, (_, kind: string, ns: string, name: string) => {
    const pod = plan.pods.find((p) => p.key === `${ns}/${name}`);
    if (!pod) throw new Error(`no pod ${ns}/${name} in the plan`);
    return kind === 'podIP' ? pod.ip : plan.nodes.find((n) => n.name === pod.node)!.podCIDR;
  });
}

const matches = (ref: PeerRef, key: string) => {
  const [ns, pod] = key.split('/');
  return (ref.namespace === undefined || ref.namespace === ns) && (ref.pod === undefined || ref.pod === pod);
};

/** The expected cell values (`from -> to` keys, self cells left out) of one probed port, as upstream's Reachability builds them. */
export function expectedCells(e: Expectation): Map<string, boolean> {
  const cells = new Map<string, boolean>();
  for (const from of MODEL_PODS) for (const to of MODEL_PODS) if (from !== to) cells.set(`${from} -> ${to}`, e.allowedByDefault);
  for (const edit of e.edits) {
    for (const from of MODEL_PODS.filter((k) => matches(edit.from, k))) {
      for (const to of MODEL_PODS.filter((k) => matches(edit.to, k))) if (from !== to) cells.set(`${from} -> ${to}`, edit.allowed);
    }
  }
  return cells;
}

function peerYaml(ref: PeerRef): string {
  if (ref.namespace && ref.pod) return `{pod: ${ref.namespace}/${ref.pod}}`;
  if (ref.namespace) return `{namespace: ${ref.namespace}}`;
  if (ref.pod) return `{podSelector: {matchLabels: {pod: ${ref.pod}}}}`;
  return '{namespaceSelector: {}}';
}

/**
 * The step's expectations as ReachabilityTest documents (one per probed
 * port): rows and columns are the nine model pods, edits become `expect`
 * entries in order. A pod edit by label needs the base labels, so steps that
 * relabel pods are written by pod name instead.
 */
export function reachabilityTests(name: string, step: CaseStep, via: 'pod' | 'service', protocols: readonly string[] = SERVED): string {
  const docs: string[] = [];
  step.expect.forEach((e, i) => {
    if (!protocols.includes(e.protocol)) return;
    const edits = e.edits.flatMap((edit: Edit) => {
      const froms = edit.from.pod && !edit.from.namespace ? NAMESPACES.map((ns) => ({ ...edit.from, namespace: ns })) : [edit.from];
      const tos = edit.to.pod && !edit.to.namespace ? NAMESPACES.map((ns) => ({ ...edit.to, namespace: ns })) : [edit.to];
      return froms.flatMap((f) => tos.map((t) => `    - {from: ${peerYaml(f)}, to: ${peerYaml(t)}, result: ${edit.allowed ? 'allowed' : 'blocked'}}`));
    });
    docs.push(
      [
        'apiVersion: kube-netlab.dev/v1alpha1',
        'kind: ReachabilityTest',
        `metadata: {name: ${name}-${i}}`,
        'spec:',
        `  via: ${via}`,
        `  ports: [{port: ${e.port}, protocol: ${e.protocol}}]`,
        `  from: [${NAMESPACES.map((ns) => `{namespace: ${ns}}`).join(', ')}]`,
        `  to: [${NAMESPACES.map((ns) => `{namespace: ${ns}}`).join(', ')}]`,
        `  default: ${e.allowedByDefault ? 'allowed' : 'blocked'}`,
        edits.length ? '  expect:' : '  expect: []',
        ...edits,
        '',
      ].join('\n'),
    );
  });
  return docs.join('---\n');
}
