/**
 * How the agent's rule controllers (kube-proxy, network policy) run their
 * syncs: whenever kicked, never two at once. A kick during a sync runs one
 * more sync after it, so the last state always lands; a sync that fails is
 * tried again after `retryMs`.
 */
export class SyncLoop {
  private running = false;
  private again = false;
  private retry?: NodeJS.Timeout;

  constructor(
    /** One sync; resolves false when it must be retried. */
    private readonly sync: () => Promise<boolean>,
    private readonly retryMs = 1000,
  ) {}

  /** A sync is running or asked for. */
  get busy(): boolean {
    return this.running;
  }

  /** Asks for a sync; returns at once. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      if (!(await this.sync())) {
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.kick(), this.retryMs);
      }
    } while (this.again);
    this.running = false;
  }

  stop(): void {
    clearTimeout(this.retry);
  }
}
