/**
 * kube-proxy sync cost: a full sync of N services x 3 endpoints (render +
 * apply, as the agent does it) next to the raw `iptables-restore` /
 * `nft -f` of the identical text, and a partial sync after one endpoint
 * changes at 5,000 services. Each run uses a fresh throwaway namespace of
 * its own; nothing else is touched.
 */
import { run } from '../kernel/exec.js';
import { createNamespaces, deleteNamespaces, netnsPath } from '../kernel/netns.js';
import { applyProxyRules, nftCachesRefreshed } from '../kernel/netfilter.js';
import type { ProxyNodeInput, ProxyServicePort } from '../model/services.js';
import type { ProxyMode } from '../spec/lab.js';
import { renderIptablesBootstrap, IptablesMemo, renderIptablesSync } from '../components/kube-proxy/iptables.js';
import { NFT_CACHE_PROBE, NFT_FAMILY, NFT_TABLE, NftablesMemo, renderNftablesSync } from '../components/kube-proxy/nftables.js';
import { rawApply } from './measure.js';

const NETNS = 'kube-netlab-bench-proxy';
const RUNS = 3;

export interface SyncRow {
  mode: ProxyMode;
  services: number;
  /** Median of RUNS, milliseconds. */
  fullMs: number;
  rawMs: number;
  /** One endpoint of one service replaced, on a node holding all `services`. */
  partialMs?: number;
  /** Of partialMs, the rendering of the text. */
  partialRenderMs?: number;
  partialRawMs?: number;
  /**
   * A fresh tool process adding one rule to the table at this size (nftables: `nft -f` of one `add rule`;
   * iptables: `iptables-restore --noflush` of a new chain with one rule): the least any rule change costs.
   */
  addRuleMs?: number;
}

/** `count` services x 3 endpoints, spread over 3 nodes, seen from node1. */
export function syntheticInput(count: number): ProxyNodeInput {
  const services: ProxyServicePort[] = [];
  for (let i = 0; i < count; i++) {
    const ip = (n: number) => `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
    services.push({
      namespace: `ns${i % 10}`,
      service: `svc${i}`,
      portName: 'http',
      protocol: 'TCP',
      clusterIP: ip(i + 11),
      port: 80,
      loadBalancerIPs: [],
      externalPolicyLocal: false,
      internalPolicyLocal: false,
      endpoints: [0, 1, 2].map((k) => ({ ip: `10.244.${k}.${(i % 250) + 2}`, port: 8080 + Math.floor(i / 250), nodeName: `node${k + 1}`, isLocal: k === 0 })),
    });
  }
  return { node: 'node1', nodeIP: '192.168.56.11', clusterCIDR: '10.244.0.0/16', masqueradeBit: 14, services };
}

/** Kept across the syncs of one measurement, as the proxy controller keeps them. */
const memo = new IptablesMemo();
const nftMemo = new NftablesMemo();

function render(mode: ProxyMode, input: ProxyNodeInput, previous?: ProxyNodeInput): string {
  return mode === 'iptables' ? renderIptablesSync(input, previous, memo) : renderNftablesSync(input, previous, nftMemo);
}

const raw = (mode: ProxyMode, text: string) => rawApply(netnsPath(NETNS), mode, text);

async function freshNamespace(mode: ProxyMode): Promise<void> {
  await deleteNamespaces([NETNS]);
  await createNamespaces([NETNS]);
  if (mode === 'iptables') await run(['nsenter', `--net=${netnsPath(NETNS)}`, '--', 'iptables-restore', '--noflush'], { context: 'bench bootstrap', input: renderIptablesBootstrap() });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One sync as the agent runs it: its whole time, and the part spent rendering the text. */
async function ours(mode: ProxyMode, input: ProxyNodeInput, previous?: ProxyNodeInput): Promise<{ ms: number; renderMs: number }> {
  // The change reaches an agent that is done with the previous one (its libnftables cache refreshed after the commit).
  await nftCachesRefreshed();
  const started = performance.now();
  const text = render(mode, input, previous);
  const rendered = performance.now();
  await applyProxyRules(mode, NETNS, text, 'bench sync', NFT_CACHE_PROBE);
  return { ms: performance.now() - started, renderMs: rendered - started };
}

export async function measureSync(mode: ProxyMode, services: number, withPartial: boolean): Promise<SyncRow> {
  const input = syntheticInput(services);
  const text = render(mode, input);
  const full: number[] = [];
  const rawFull: number[] = [];
  const partial: number[] = [];
  const partialRender: number[] = [];
  const rawPartial: number[] = [];
  const addRule: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      // One endpoint of one service moves; the previous state is what the kernel holds now.
      const next = structuredClone(input);
      next.services[i]!.endpoints[2] = { ...next.services[i]!.endpoints[2]!, ip: '10.244.2.254' };
      // As the agent runs: the full sync, then the partial one on the same node (in nftables mode
      // through the libnftables context the full sync left warm).
      await freshNamespace(mode);
      full.push((await ours(mode, input)).ms);
      if (withPartial) {
        const p = await ours(mode, next, input);
        partial.push(p.ms);
        partialRender.push(p.renderMs);
      }
      // The same texts by a fresh tool process each.
      await freshNamespace(mode);
      rawFull.push(await raw(mode, text));
      if (!withPartial) continue;
      rawPartial.push(await raw(mode, render(mode, next, input)));
      addRule.push(await raw(mode, mode === 'nftables' ? `add rule ${NFT_FAMILY} ${NFT_TABLE} masquerading counter\n` : `*nat\n:KUBE-BENCH-ONE-RULE - [0:0]\n-A KUBE-BENCH-ONE-RULE -j RETURN\nCOMMIT\n`));
    }
  } finally {
    await deleteNamespaces([NETNS]);
  }
  return {
    mode,
    services,
    fullMs: median(full),
    rawMs: median(rawFull),
    ...(withPartial ? { partialMs: median(partial), partialRenderMs: median(partialRender), partialRawMs: median(rawPartial) } : {}),
    ...(addRule.length ? { addRuleMs: median(addRule) } : {}),
  };
}
