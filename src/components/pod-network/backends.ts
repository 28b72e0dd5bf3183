/**
 * Pod-network backends, peers behind one small interface as flannel's are.
 * A backend adds kernel objects to the router and node namespaces; it never
 * touches pods, so switching backends leaves pod addresses alone.
 */
import type { Plan } from '../../model/types.js';
import type { BackendName } from '../../spec/lab.js';
import type { NetnsBatch } from '../../render/batch.js';
import { cloudRoutes } from '../cloud-routes/render.js';
import { hostGw } from '../host-gw/render.js';
import { udp } from '../udp/render.js';
import { vxlan } from '../vxlan/render.js';

export interface BackendObjects {
  /** Added to the router's batch. */
  router: NetnsBatch[];
  /** Added to each node's batch, after its eth0 and cbr0 exist. */
  nodes: NetnsBatch[];
  /** Further stages after the nodes', for objects that must come in a fixed order. */
  stages?: NetnsBatch[][];
}

export interface PodNetworkBackend {
  name: BackendName;
  render(plan: Plan): BackendObjects;
}

const REGISTRY: Partial<Record<BackendName, PodNetworkBackend>> = {
  'host-gw': hostGw,
  'cloud-routes': cloudRoutes,
  vxlan,
  udp,
};

export function podNetworkBackend(name: BackendName): PodNetworkBackend {
  const backend = REGISTRY[name];
  if (!backend) {
    throw new Error(`pod network backend '${name}' is not available; known: ${Object.keys(REGISTRY).sort().join(', ')}`);
  }
  return backend;
}
