/**
 * How the lab's controllers run their rounds (kube-proxy's and network
 * policy's syncs in the agent, the cloud load balancer's checks): whenever
 * kicked, never two at once. A kick during a round runs one more round
 * after it, so the last state always lands; a round that fails is tried
 * again after `retryMs`. A caller that must see its change in force awaits
 * its kick: it resolves when a round that started after the kick is done.
 */
export class SyncLoop {
  private running = false;
  private again = false;
  private retry?: NodeJS.Timeout;
  /** Kicks waiting for the next round to start and end. */
  private waiting: (() => void)[] = [];

  constructor(
    /** One round; resolves false (or throws) when it must be retried. */
    private readonly sync: () => Promise<boolean>,
    private readonly retryMs = 1000,
  ) {}

  /** A round is running. */
  get busy(): boolean {
    return this.running;
  }

  /** Asks for a round; resolves once a round that started after this call has ended. */
  kick(): Promise<void> {
    const done = new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.running) this.again = true;
    else {
      this.running = true;
      void this.loop();
    }
    return done;
  }

  /** A round unless one is running: for periodic rounds, which must not pile up behind a slow one. */
  kickUnlessBusy(): void {
    if (!this.running) void this.kick();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const served = this.waiting;
      this.waiting = [];
      let ok = false;
      try {
        ok = await this.sync();
      } catch {
        ok = false;
      }
      if (!ok) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.kick(), this.retryMs);
      }
      for (const resolve of served) resolve();
    } while (this.again);
    this.running = false;
  }

  stop(): void {
    clearTimeout(this.retry);
  }
}
