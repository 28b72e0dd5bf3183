/** A NetworkPolicy as `kubectl get -o json` shows it: the API shape, with what the API server defaults filled in. */
import type { LabelSelectorSpec, NetworkPolicySpec, PolicyPeerSpec, PolicyRuleSpec } from '../../spec/network-policy.js';

function selectorJson(s: LabelSelectorSpec) {
  return {
    ...(Object.keys(s.matchLabels).length ? { matchLabels: s.matchLabels } : {}),
    ...(s.matchExpressions.length ? { matchExpressions: s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values.length ? { values: e.values } : {}) })) } : {}),
  };
}

function peerJson(p: PolicyPeerSpec) {
  return {
    ...(p.podSelector ? { podSelector: selectorJson(p.podSelector) } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: selectorJson(p.namespaceSelector) } : {}),
    ...(p.ipBlock ? { ipBlock: { cidr: p.ipBlock.cidr, ...(p.ipBlock.except.length ? { except: p.ipBlock.except } : {}) } } : {}),
  };
}

function ruleJson(r: PolicyRuleSpec, peersKey: 'from' | 'to') {
  return {
    ...(r.ports.length ? { ports: r.ports.map((p) => ({ protocol: p.protocol, ...(p.port !== undefined ? { port: p.port } : {}), ...(p.endPort !== undefined ? { endPort: p.endPort } : {}) })) } : {}),
    ...(r.peers.length ? { [peersKey]: r.peers.map(peerJson) } : {}),
  };
}

export function networkPolicyJson(p: NetworkPolicySpec, creationTimestamp?: string) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: p.name, namespace: p.namespace, ...(creationTimestamp ? { creationTimestamp } : {}), ...(Object.keys(p.labels).length ? { labels: p.labels } : {}) },
    spec: {
      podSelector: selectorJson(p.podSelector),
      policyTypes: p.policyTypes,
      ...(p.ingress.length ? { ingress: p.ingress.map((r) => ruleJson(r, 'from')) } : {}),
      ...(p.egress.length ? { egress: p.egress.map((r) => ruleJson(r, 'to')) } : {}),
    },
  };
}
