// The mirror's domain graph: storage, the upstream client, the caches, the catalog, cache
// administration, the scrub and pre-warm jobs, wired to one live configuration and one event
// bus. No HTTP here: a CLI command opens these parts without ever listening (server.ts adds
// the HTTP side for `serve` and the desktop app).
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { LiveConfig } from '../config/live-config.js';
import { ActivityLog } from '../control/activity-log.js';
import { CacheAdmin } from '../control/cache-admin.js';
import { Catalog } from '../control/catalog.js';
import { CountersStore } from '../control/counters-store.js';
import { EventBus } from '../control/event-bus.js';
import { Scrubber } from '../control/scrubber.js';
import { ArtifactCache } from '../mirror/artifact-cache.js';
import { provenanceCheck } from '../mirror/provenance.js';
import { RegistryService } from '../mirror/registry-service.js';
import { ReleaseArtifacts } from '../mirror/release-artifacts.js';
import { RevalidatingCache } from '../mirror/revalidating-cache.js';
import { JobHistory } from '../prewarm/job-history.js';
import { JobManager } from '../prewarm/jobs.js';
import { createLogger } from '../core/logger.js';
import { createMetrics, type Metrics } from '../core/metrics.js';
import { BlobStore } from '../store/blob-store.js';
import type { CacheEntry } from '../store/cache-index.js';
import { CacheIndex } from '../store/cache-index.js';
import { FsStorage, type ObjectStorage } from '../store/object-storage.js';
import { S3Storage } from '../store/s3-storage.js';
import { UpstreamClient } from '../upstream/upstream-client.js';
import { jobEvents, recordRemovals, transferEvents } from './events.js';

export interface BuildOptions {
  log?: Logger;
  /** Process-wide metrics (memory, CPU) on /metrics; off in tests that run several engines. */
  processMetrics?: boolean;
}

export interface Mirror {
  config: LiveConfig;
  log: Logger;
  metrics: Metrics;
  /** Aborted on stop: every upstream request in flight listens to it. */
  shutdown: AbortController;
  events: EventBus;
  store: BlobStore;
  index: CacheIndex;
  storage: ObjectStorage;
  upstream: UpstreamClient;
  mutable: RevalidatingCache;
  registry: RegistryService;
  artifacts: ArtifactCache;
  releases: ReleaseArtifacts;
  catalog: Catalog;
  admin: CacheAdmin;
  scrubber: Scrubber;
  jobs: JobManager;
  /** Finished downloads, removals and evictions, kept in the data dir. */
  activity: ActivityLog;
  /** The dashboard's counters (metrics.usage), kept in the data dir. */
  counters: CountersStore;
  startedAt: number;
}

/** What the scrub does with a quarantined object: tarballs and docs are fetched again; registry resources wait for the next request (null). */
function scrubRefetch(mirror: Pick<Mirror, 'config' | 'releases'>) {
  return async (_key: string, entry: CacheEntry): Promise<boolean | null> => {
    if (!entry.package || !entry.version || !mirror.config.current.upstream.enabled) return entry.kind === 'tarball' || entry.kind === 'docs' ? false : null;
    if (entry.kind === 'tarball') return (await mirror.releases.ensureTarball(entry.package, entry.version)).fetched;
    if (entry.kind === 'docs') return (await mirror.releases.ensureDocs(entry.package, entry.version)).fetched;
    return null;
  };
}

/** Keeps tarballs and docs under the size cap: after each one stored, and when the cap changes. */
function enforceSizeCap({ config, index, admin, log }: Mirror): void {
  const evict = () => void admin.enforceCap(config.current.sizeCapBytes).catch((error: Error) => log.error({ error: error.message }, 'eviction failed'));
  index.onChange((change) => {
    if (change.type === 'stored' && (change.entry?.kind === 'tarball' || change.entry?.kind === 'docs')) evict();
  });
  config.onChange(evict);
}

export function buildMirror(config: LiveConfig, options: BuildOptions = {}): Mirror {
  const initial = config.current;
  const getConfig = () => config.current;
  const log = options.log ?? createLogger(initial.logLevel);
  const metrics = createMetrics({ defaultMetrics: options.processMetrics ?? false });
  const shutdown = new AbortController();
  // Every upstream request in flight listens for shutdown: dozens at once are normal, not a leak.
  setMaxListeners(0, shutdown.signal);
  const events = new EventBus();
  const activity = new ActivityLog(initial.dataDir, log);
  const counters = new CountersStore(initial.dataDir, metrics.usage, log, (values) => events.publish({ type: 'counters', counters: values }));
  const transfers = transferEvents(events, activity);
  const store = new BlobStore(initial.dataDir, initial.hotCacheBytes);
  const index = new CacheIndex(initial.dataDir, log, undefined, (error) => store.health.failed(error), {
    onBytesWritten: (bytes) => metrics.indexBytesWritten.inc(bytes),
  });
  const storage: ObjectStorage = initial.storage.kind === 's3' ? new S3Storage(initial.storage, store, log) : new FsStorage(store);
  const upstream = new UpstreamClient(initial.upstream, log, metrics);
  const mutable = new RevalidatingCache(store, storage, index, upstream, log, metrics, shutdown.signal);
  const registry = new RegistryService(initial.upstream, () => config.current.registryTtlSeconds * 1000, mutable, store, index);
  // The parts that use the upstream's settings hear of a change first, before anything reports it.
  config.onChange(({ current }) => {
    upstream.updateConfig(current.upstream);
    registry.updateConfig(current.upstream);
  });
  const retry = () => ({ attempts: config.current.upstream.retryAttempts, delayMs: config.current.upstream.retryDelayMs });
  const artifacts = new ArtifactCache(store, storage, index, upstream, log, metrics, retry, shutdown.signal, transfers.listener);
  const releases = new ReleaseArtifacts(getConfig, registry, artifacts, index, store, upstream, metrics);
  const catalog = new Catalog(index, registry, initial.dataDir);
  const provenance = provenanceCheck({ upstream: () => config.current.upstream, registry, releases });
  const admin = new CacheAdmin(initial.dataDir, store, storage, index, catalog, log, provenance);
  const scrubber = new Scrubber({
    dataDir: initial.dataDir,
    index,
    admin,
    refetch: scrubRefetch({ config, releases }),
    settings: () => config.current.scrub,
    publish: (scrub) => events.publish({ type: 'scrub', scrub }),
    log,
    metrics,
  });
  const jobs = new JobManager({
    registry,
    releases,
    config: getConfig,
    log,
    publish: jobEvents(events),
    onTransfer: transfers.watch,
    signal: shutdown.signal,
    history: new JobHistory(initial.dataDir, log),
  });
  const mirror: Mirror = {
    config,
    log,
    metrics,
    shutdown,
    events,
    store,
    index,
    storage,
    upstream,
    mutable,
    registry,
    artifacts,
    releases,
    catalog,
    admin,
    scrubber,
    jobs,
    activity,
    counters,
    startedAt: Date.now(),
  };
  recordRemovals(admin, activity);
  enforceSizeCap(mirror);
  return mirror;
}
