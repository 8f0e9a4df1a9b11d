/**
 * Concurrent calls for the same key share one run of the work (a task loaded on first sight, a lease
 * claimed, a stored difference read); a call after that run settles starts a new one.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    let pending = this.running.get(key);
    if (!pending) {
      pending = work().finally(() => this.running.delete(key));
      this.running.set(key, pending);
    }
    return pending;
  }

  /** The run for `key` under way, if any (to wait for it without starting one). */
  pending(key: string): Promise<T> | undefined {
    return this.running.get(key);
  }

  /** Whether a run for `key` is under way. */
  has(key: string): boolean {
    return this.running.has(key);
  }
}
