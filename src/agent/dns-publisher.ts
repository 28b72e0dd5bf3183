/**
 * Keeps the DNS servers' data files in step with the lab: after every plan
 * reload and readiness change the agent publishes, and a file is replaced
 * (write, then rename, so a server never reads half a file) only when its
 * records changed; the servers watch the files and reload within
 * milliseconds, the way CoreDNS follows the API server's watch.
 */
import { writeAtomic } from '../util/files.js';
import { join } from 'node:path';
import type { DnsServerData } from '../components/cluster-dns/data.js';
import { CLUSTER_DNS_DATA, RESOLVER_DATA } from '../components/cluster-dns/daemon.js';
import { clusterDnsData, resolverData } from '../model/dns-records.js';
import type { PodReady } from '../model/endpoints.js';
import type { Plan } from '../model/types.js';
import type { Logger } from '../runtime/log.js';

export class DnsPublisher {
  private readonly written = new Map<string, string>();
  /** SOA serials go up with every change, from a start no earlier run of the lab used. */
  private serial = Math.floor(Date.now() / 1000);

  constructor(
    private readonly runDir: string,
    private readonly log: Logger,
  ) {}

  publish(plan: Plan, ready: PodReady): void {
    this.write(CLUSTER_DNS_DATA, (serial) => clusterDnsData(plan, ready, serial));
    this.write(RESOLVER_DATA, (serial) => resolverData(plan, serial));
  }

  private write(file: string, build: (serial: number) => DnsServerData): void {
    const data = build(0);
    // Compared without the serial, which changes with every file written.
    const records = JSON.stringify(data);
    if (this.written.get(file) === records) return;
    const path = join(this.runDir, file);
    try {
      writeAtomic(path, JSON.stringify({ ...data, serial: ++this.serial }));
      this.written.set(file, records);
    } catch (err) {
      this.log(`could not write the DNS data ${path}: ${(err as Error).message}; the DNS servers keep their last records`);
    }
  }
}
