/**
 * Pod-network backends, peers behind one small interface as flannel's are.
 * A backend adds kernel objects to the router and node namespaces; it never
 * touches pods, so switching backends leaves pod addresses alone. Each is a
 * component of the registry (`backendComponent`); the lab's `podNetwork.backend`
 * enables exactly one.
 */
import type { Plan } from '../../model/types.js';
import type { BackendName } from '../../spec/lab.js';
import type { NetnsBatch } from '../../render/batch.js';

export interface BackendObjects {
  /** Added to the router's batch. */
  router: NetnsBatch[];
  /** Added to each node's batch, after its eth0 and cbr0 exist. */
  nodes: NetnsBatch[];
  /** Forwarding entries to peers, once every node's tunnel device exists (`bridge` lines). */
  fdb?: NetnsBatch[];
  /** Routes to peers, once their fdb entries exist. */
  routes?: NetnsBatch[];
}

export interface PodNetworkBackend {
  name: BackendName;
  render(plan: Plan): BackendObjects;
}
