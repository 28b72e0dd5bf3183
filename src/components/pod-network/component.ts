/**
 * What the four pod-network backends share as components: each is used when
 * the lab picks it, and its kernel objects are what its renderer adds to the
 * router and the nodes, in the steps of `up` they need.
 */
import type { BackendName } from '../../spec/lab.js';
import type { PodNetworkBackend } from './backends.js';
import type { Component, KernelGroup } from '../contract.js';

export function backendComponent(backend: PodNetworkBackend, extra: Partial<Component> = {}): Component {
  return {
    name: backend.name,
    enabled: (plan) => plan.spec.podNetwork.backend === (backend.name satisfies BackendName),
    kernel: (plan) => {
      const r = backend.render(plan);
      const groups: KernelGroup[] = [
        { label: backend.name, step: 'router', batches: r.router },
        { label: backend.name, step: 'nodes', batches: r.nodes },
        { label: backend.name, step: 'node-fdb', batches: r.fdb ?? [] },
        { label: backend.name, step: 'node-routes', batches: r.routes ?? [] },
      ];
      return groups.filter((g) => g.batches!.length > 0);
    },
    ...extra,
  };
}
