/**
 * Builds a lab from its spec. Everything that can be decided without the
 * kernel (the plan, every batch, every file) is decided first, so bad input
 * fails before anything changes. An existing lab of the same name is torn
 * down and rebuilt from the new plan, which keeps pods' nodes and IPs. If
 * any step fails, what was made is removed again.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { availableParallelism } from 'node:os';
import { planLab } from '../model/plan.js';
import type { LabSpec, Plan } from '../model/types.js';
import { renderFiles } from '../render/files.js';
import { labNamespaces, renderSysctls, renderTopology } from '../render/topology.js';
import { applySysctls, createNamespaces, runStage } from '../kernel/netns.js';
import { startAgent } from './agent.js';
import { downLab } from './down.js';
import { checkEnvironment } from './environment.js';
import { startHolders } from './holders.js';
import { readPlan, readRecord, writeHolders, writePlan, writeRecord } from './state.js';

export interface UpOptions {
  /** Progress lines (the CLI sends them to stderr). */
  log?: (line: string) => void;
}

export async function upLab(spec: LabSpec, opts: UpOptions = {}): Promise<Plan> {
  const log = opts.log ?? (() => {});
  checkEnvironment();
  const existing = readRecord(spec.name);
  const plan = planLab(spec, existing ? readPlan(spec.name) : undefined);
  const stages = renderTopology(plan);
  const sysctls = renderSysctls(plan);
  const files = renderFiles(plan);
  const namespaces = labNamespaces(plan);
  const concurrency = Math.max(2, availableParallelism() * 2);

  if (existing) {
    log(`lab ${spec.name} exists: rebuilding it to match ${spec.files.join(', ')}`);
    await downLab(spec.name);
  }
  const now = new Date().toISOString();
  writeRecord({ name: spec.name, phase: 'creating', files: spec.files, createdAt: now, updatedAt: now });
  try {
    log(`creating ${namespaces.length} network namespaces (${plan.nodes.length} nodes, ${plan.pods.length} pods)`);
    await createNamespaces(namespaces);
    for (const stage of stages) await runStage(stage, concurrency);
    await applySysctls(sysctls, concurrency);
    for (const f of files) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.content);
    }
    writePlan(plan);
    log('starting pause processes');
    const holders = await startHolders(spec.name, [
      ...plan.nodes.map((n) => ({ netns: n.netns, hostname: n.name })),
      ...plan.pods.map((p) => ({ netns: p.netns, hostname: p.name })),
      ...plan.internet.clients.map((c) => ({ netns: c.netns, hostname: c.name })),
    ]);
    writeHolders(spec.name, holders);
    log('starting containers');
    await startAgent(spec.name);
    writeRecord({ name: spec.name, phase: 'ready', files: spec.files, createdAt: now, updatedAt: new Date().toISOString() });
    log(`lab ${spec.name} is up`);
    return plan;
  } catch (err) {
    log(`up failed; removing what was made`);
    await downLab(spec.name).catch(() => {});
    throw err;
  }
}
