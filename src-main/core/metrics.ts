// Prometheus metrics for one engine. A registry per engine (not prom-client's global one)
// so that several engines in one process, as in tests, do not collide.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UsageCounters } from './usage-counters.js';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'hexhub_process_' });
  const warm = { hits: 0, bytes: 0 };
  const labelNames = ['kind'] as const;
  return {
    registry,
    /** The dashboard's numbers (client traffic apart from pre-warm; kept across restarts). */
    usage: new UsageCounters(),
    /**
     * Warm tarball hits, counted as plain numbers and added to the labelled counters when they
     * are read: a labelled increment (hashing and checking the labels) per warm hit cost more
     * than the rest of its bookkeeping.
     */
    warmTarballHit(bytes: number): void {
      warm.hits++;
      warm.bytes += bytes;
    },
    hits: new Counter({
      name: 'hexhub_cache_hits_total',
      help: 'Requests served from the cache',
      labelNames,
      registers: [registry],
      collect() {
        if (warm.hits) this.inc({ kind: 'tarball' }, warm.hits);
        warm.hits = 0;
      },
    }),
    misses: new Counter({ name: 'hexhub_cache_misses_total', help: 'Requests that had to go to the upstream', labelNames, registers: [registry] }),
    revalidations: new Counter({
      name: 'hexhub_revalidations_total',
      help: 'Conditional requests to the upstream for stored mutable resources',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    staleServes: new Counter({
      name: 'hexhub_stale_serves_total',
      help: 'Stored copies served because the upstream was down or disabled',
      labelNames,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'hexhub_upstream_errors_total',
      help: 'Failed upstream attempts (network, timeout, 5xx, verification)',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    }),
    verificationFailures: new Counter({
      name: 'hexhub_verification_failures_total',
      help: 'Upstream bodies refused by verification',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    }),
    storageWriteFailures: new Counter({
      name: 'hexhub_storage_write_failures_total',
      help: 'Downloads the cache disk would not take (full, read-only); passed through or refused with 507',
      labelNames,
      registers: [registry],
    }),
    damagedObjects: new Counter({
      name: 'hexhub_damaged_objects_total',
      help: 'Stored objects found damaged (quarantined and fetched again), by what found them',
      labelNames: ['kind', 'found_by'] as const,
      registers: [registry],
    }),
    bytesServed: new Counter({
      name: 'hexhub_bytes_served_total',
      help: 'Body bytes sent to clients',
      labelNames,
      registers: [registry],
      collect() {
        if (warm.bytes) this.inc({ kind: 'tarball' }, warm.bytes);
        warm.bytes = 0;
      },
    }),
    upstreamBytes: new Counter({ name: 'hexhub_upstream_bytes_total', help: 'Body bytes received from the upstream', labelNames, registers: [registry] }),
    upstreamRequests: new Counter({
      name: 'hexhub_upstream_requests_total',
      help: 'HTTP requests sent to the upstream, by status',
      labelNames: ['kind', 'status'] as const,
      registers: [registry],
    }),
    upstreamRedirects: new Counter({
      name: 'hexhub_upstream_redirects_total',
      help: 'Redirects the upstream answered: followed (same origin), refused (another origin) or too_many (past the limit)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    indexBytesWritten: new Counter({
      name: 'hexhub_index_bytes_written_total',
      help: 'Bytes written to the cache index file (journal appends and compactions)',
      registers: [registry],
    }),
    upstreamLatency: new Histogram({
      name: 'hexhub_upstream_latency_seconds',
      help: 'Time from upstream request to response headers',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
