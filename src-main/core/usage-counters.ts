// The numbers the dashboard shows (the contract's Counters), kept apart from the Prometheus
// metrics: those count everything since the process started, these follow what a person
// asks ("how often was a build served from the cache?"): client requests apart from pre-warm
// downloads, one upstream error per failed request however often it was retried, and they
// outlive a restart (control/counters-store.ts keeps them in the data dir) until reset.
import type { Counters } from '../../src-shared/contract.js';

export type CounterName = Exclude<keyof Counters, 'since'>;

export function freshCounters(since: number): Counters {
  return {
    since,
    hits: 0,
    misses: 0,
    prewarmFetches: 0,
    staleServes: 0,
    bytesServed: 0,
    bytesSaved: 0,
    upstreamBytes: 0,
    upstreamErrors: 0,
    upstreamFailedAttempts: 0,
    verificationFailures: 0,
  };
}

export class UsageCounters {
  private values: Counters = freshCounters(Date.now());
  private readonly listeners = new Set<() => void>();
  /** Failures already counted: a failed request is seen by every layer it passes through. */
  private readonly failedRequests = new WeakSet<object>();

  add(name: CounterName, amount = 1): void {
    if (!(amount > 0)) return;
    this.values[name] += amount;
    this.changed();
  }

  /** A client request answered from the cache: a hit, and its bytes saved from the upstream. */
  hit(bytes: number): void {
    this.values.hits++;
    this.values.bytesServed += bytes;
    this.values.bytesSaved += bytes;
    this.changed();
  }

  /** An upstream request that failed for good (after its retries); counted once per failure object. */
  requestFailed(failure: object): void {
    if (this.failedRequests.has(failure)) return;
    this.failedRequests.add(failure);
    this.add('upstreamErrors');
  }

  view(): Counters {
    return { ...this.values };
  }

  /** Takes over counts kept from an earlier run (what happened before this one loaded them is added). */
  restore(saved: Counters): void {
    const now = this.values;
    this.values = { ...saved };
    for (const name of Object.keys(now) as (keyof Counters)[]) if (name !== 'since') this.values[name] += now[name];
    this.changed();
  }

  reset(since = Date.now()): Counters {
    this.values = freshCounters(since);
    this.changed();
    return this.view();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
