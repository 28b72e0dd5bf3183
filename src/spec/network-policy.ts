/**
 * `networking.k8s.io/v1` NetworkPolicy as the lab holds it once read and
 * defaulted: plain JSON, part of the LabSpec (and so of plan.json), the one
 * input of the policy engine and of the rule renderers.
 */
import type { SourceRef } from './lab.js';

export type PolicyType = 'Ingress' | 'Egress';
/** The protocols a NetworkPolicyPort may name. */
export type PolicyProtocol = 'TCP' | 'UDP' | 'SCTP';
export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  /** Empty for Exists and DoesNotExist. */
  values: string[];
}

/** A metav1.LabelSelector; both parts empty selects everything. */
export interface LabelSelectorSpec {
  matchLabels: Record<string, string>;
  matchExpressions: SelectorRequirement[];
}

export interface IPBlockSpec {
  /** The network, host bits cleared (the API server accepts them set). */
  cidr: string;
  except: string[];
  /** IPv6 blocks are valid input but match nothing in the lab's IPv4-only network. */
  family: 4 | 6;
}

/** One `from`/`to` element: selectors (AND when both), or an ipBlock alone. */
export interface PolicyPeerSpec {
  podSelector?: LabelSelectorSpec;
  namespaceSelector?: LabelSelectorSpec;
  ipBlock?: IPBlockSpec;
}

export interface PolicyPortSpec {
  /** Defaulted to TCP. */
  protocol: PolicyProtocol;
  /** A number, or the name of a container port of the destination pod; absent: every port of the protocol. */
  port?: number | string;
  /** With a numeric `port`: the inclusive range port..endPort. */
  endPort?: number;
}

/** An ingress or egress rule: empty `peers` admits every peer, empty `ports` every port. */
export interface PolicyRuleSpec {
  peers: PolicyPeerSpec[];
  ports: PolicyPortSpec[];
}

export interface NetworkPolicySpec {
  namespace: string;
  name: string;
  podSelector: LabelSelectorSpec;
  /** As written, or defaulted: Ingress always, Egress when there is an egress section. */
  policyTypes: PolicyType[];
  ingress: PolicyRuleSpec[];
  egress: PolicyRuleSpec[];
  labels: Record<string, string>;
  source: SourceRef;
}

/** `<namespace>/<name>`, how rules and messages name a policy. */
export const policyKey = (p: Pick<NetworkPolicySpec, 'namespace' | 'name'>): string => `${p.namespace}/${p.name}`;

/** The label every namespace carries with its own name (immutable, set by the API server). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
