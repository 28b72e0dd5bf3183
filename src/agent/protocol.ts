/**
 * The JSON of the agent's control API,
 * shared by the agent and its clients.
 */

import type { NodeCondition } from './node-lifecycle.js';
import type { DaemonStatus } from './daemons.js';
import type { ProxyStatus } from '../components/kube-proxy/controller.js';
import type { NetpolStatus } from '../components/network-policy/controller.js';

export type { DaemonStatus, NetpolStatus, ProxyStatus };


export type ContainerState = 'running' | 'terminated' | 'waiting';

export interface ContainerStatus {
  /** `<namespace>/<name>` of the pod. */
  pod: string;
  container: string;
  state: ContainerState;
  restartCount: number;
  /** Why the container is not running (a socket that could not be opened). */
  lastError?: string;
  /** Running and passing its readinessProbe (always true for a running container without one). */
  ready?: boolean;
  /** What the last readinessProbe said, when the container has one. */
  probe?: string;
  /** When the running instance started (ISO 8601). */
  startedAt?: string;
  netns: string;
  /** `port/PROTOCOL` of every declared port. */
  ports: string[];
}

export interface AgentStatus {
  pid: number;
  startedAt: string;
  /**
   * Counts the changes to this status (a container started or stopped, a probe result, a daemon
   * serving, a sync done): `GET /status?after=<generation>` waits for the next one.
   */
  generation?: number;
  /** Digest of the plan.json the agent runs (see `planDigest`), to tell whether a reload took. */
  planVersion: string;
  containers: ContainerStatus[];
  /** Node-level daemons (the udp backend's forwarders); empty for other backends. */
  daemons: DaemonStatus[];
  /** kube-proxy: which plan's services and endpoints are in every node's rules. */
  proxy?: ProxyStatus;
  /** Network policy: which plan's policies every node enforces. */
  netpol?: NetpolStatus;
  /** The version of the endpoints published for the ingress controllers (ingress-upstreams.json); absent without ingress. */
  ingressUpstreams?: string;
  /** The node lifecycle controller's view: NotReady nodes have had their pods taken out of service. */
  nodes?: NodeCondition[];
}

export interface KilledContainer {
  pod: string;
  container: string;
  /** When the agent starts it again. */
  restartInMs: number;
}

export interface KillResult {
  killed: KilledContainer[];
}

export interface ReloadResult {
  planVersion: string;
  /** `<namespace>/<pod>/<container>` of the containers started, stopped and left alone. */
  started: string[];
  stopped: string[];
  unchanged: number;
}

/** The body of every non-2xx answer. */
export interface ErrorBody {
  error: string;
}
