/**
 * `kube-netlab.dev/v1alpha1` ReachabilityTest: the user's expectations of
 * who may connect to whom, read with the lab's manifests and measured by
 * `verify` on the real kernel.
 */
import type { SourceRef } from './lab.js';
import type { LabelSelectorSpec, PolicyProtocol } from './network-policy.js';

export type Via = 'pod' | 'service';
export type Result = 'allowed' | 'blocked';

/** Which pods (or external client) a row, column or expectation names. */
export type ReachPeerSpec =
  | { kind: 'pod'; namespace: string; name: string; source: SourceRef }
  | { kind: 'namespace'; namespace: string; source: SourceRef }
  /** As a NetworkPolicy peer; a podSelector alone matches in every namespace (the test belongs to none). Both absent: every pod. */
  | { kind: 'selector'; podSelector?: LabelSelectorSpec; namespaceSelector?: LabelSelectorSpec; source: SourceRef }
  /** An external client of the lab (`external`), as a source only. */
  | { kind: 'external'; name: string; source: SourceRef };

export interface ReachPortSpec {
  /** A number, or the name of a container port of the target. */
  port: number | string;
  protocol: PolicyProtocol;
  source: SourceRef;
}

export interface ReachExpectSpec {
  /** Absent: every row. */
  from?: ReachPeerSpec;
  /** Absent: every column. */
  to?: ReachPeerSpec;
  /** Absent: every port of the test. */
  ports?: ReachPortSpec[];
  result: Result;
  source: SourceRef;
}

export interface ReachabilityTestSpec {
  name: string;
  via: Via;
  /** Absent: each target's declared container ports. */
  ports?: ReachPortSpec[];
  /** Rows; absent: every pod of the lab's own namespaces. */
  from?: ReachPeerSpec[];
  /** Columns; absent: every pod of the lab's own namespaces. */
  to?: ReachPeerSpec[];
  default: Result;
  /** Later entries win for the cells they share with earlier ones. */
  expect: ReachExpectSpec[];
  source: SourceRef;
}

export const REACHABILITY_KIND = 'ReachabilityTest';
