// One piece of work per key at a time: whoever asks for a key while its work runs shares that
// run's outcome instead of starting another (one upstream request however many clients ask).
export class SingleFlight<K, V> {
  private readonly running = new Map<K, Promise<V>>();

  /** Runs in flight now. */
  get size(): number {
    return this.running.size;
  }

  /** The run in flight for `key`, if there is one. */
  get(key: K): Promise<V> | undefined {
    return this.running.get(key);
  }

  /**
   * Joins the run in flight for `key`, or starts `work` as that run. The key is free again
   * before anyone waiting sees the outcome, so what they do next starts afresh.
   */
  run(key: K, work: () => Promise<V>): Promise<V> {
    const joined = this.running.get(key);
    if (joined) return joined;
    // Started at once (as a plain call would be); a synchronous throw becomes the run's failure.
    const flight = (async () => work())().finally(() => this.running.delete(key));
    this.running.set(key, flight);
    // A run outlives the callers that gave up waiting for it (its outcome is still kept): its
    // failure, once nobody waits, must not surface as an unhandled rejection.
    flight.catch(() => undefined);
    return flight;
  }

  /** Resolves once every run in flight has settled, failed ones included (for shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }
}
