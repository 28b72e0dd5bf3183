/**
 * A counter of changes to what the agent's status reports, for clients that
 * wait for a state (`up` for a ready lab): `GET /status?after=N&wait=MS`
 * answers as soon as the counter is above N, so a client learns of each
 * change when it happens instead of at its next poll.
 */
export class ChangeCounter {
  private count = 0;
  private readonly waiters = new Set<{ after: number; done: () => void }>();

  get value(): number {
    return this.count;
  }

  /** Something the status reports changed; waiters are answered once the current turn has made its changes. */
  bump(): void {
    this.count++;
    for (const w of this.waiters) if (this.count > w.after) w.done();
  }

  /** Resolves once the counter is above `after`, or after `waitMs` at the latest. */
  after(after: number, waitMs: number): Promise<void> {
    if (this.count > after) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        after,
        done: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, waitMs);
      this.waiters.add(waiter);
    });
  }

  /** Answers every waiter (the agent is stopping). */
  releaseAll(): void {
    for (const w of this.waiters) w.done();
  }
}
