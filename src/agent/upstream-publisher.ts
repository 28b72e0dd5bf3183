/**
 * Publishes the Service endpoints the ingress controllers balance over
 * (ingress-upstreams.json), after every plan reload and readiness change,
 * replacing the file (write, then rename) only when an endpoint changed;
 * the controllers watch it and reload nginx gracefully.
 */
import { join } from 'node:path';
import { INGRESS_UPSTREAMS_FILE, upstreamData } from '../components/ingress-nginx/upstreams.js';
import type { PodReady } from '../model/endpoints.js';
import type { Plan } from '../model/types.js';
import { writeAtomic } from '../util/files.js';
import type { Logger } from '../runtime/log.js';

export class UpstreamPublisher {
  /** The version in the file now; what controllers report once they serve it. */
  version?: string;

  constructor(
    private readonly runDir: string,
    private readonly log: Logger,
  ) {}

  publish(plan: Plan, ready: PodReady): void {
    // Only labs with an ingress controller read it.
    if (!plan.pods.some((p) => p.containers.some((c) => c.program === 'ingress-nginx'))) return;
    const data = upstreamData(plan, ready);
    if (data.version === this.version) return;
    const path = join(this.runDir, INGRESS_UPSTREAMS_FILE);
    try {
      writeAtomic(path, JSON.stringify(data));
      this.version = data.version;
    } catch (err) {
      this.log(`could not write the ingress endpoints ${path}: ${(err as Error).message}; the ingress controllers keep their last upstreams`);
    }
  }
}
