/**
 * What the four pod-network backends share as components: each is used when
 * the lab picks it, and its kernel objects are what its renderer adds to the
 * router and the nodes.
 */
import type { BackendName } from '../../spec/lab.js';
import type { PodNetworkBackend } from './backends.js';
import type { Component } from '../contract.js';

export function backendComponent(backend: PodNetworkBackend, extra: Partial<Component> = {}): Component {
  return {
    name: backend.name,
    enabled: (plan) => plan.spec.podNetwork.backend === (backend.name satisfies BackendName),
    kernel: (plan) => {
      const r = backend.render(plan);
      return [{ label: backend.name, batches: [...r.router, ...r.nodes, ...(r.stages ?? []).flat()] }];
    },
    ...extra,
  };
}
