// The mirror engine, composed: everything the headless server, the CLI and the desktop app
// run. It never imports electron.
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { JobView, PrewarmRequest, SettingsResponse, StatusResponse } from '../src-shared/contract.js';
import { applySettingsPatch, parseHttpUrl, settingsOf, withSettings, type Config } from './config/config.js';
import { applySetup, inspectSetup, planSetup, undoSetup, type SetupContext } from './setup/machine-setup.js';
import { saveSettings } from './config/saved-settings.js';
import { AccessGuard, allowedHosts, loadOrCreateToken } from './control/access.js';
import { CacheAdmin } from './control/cache-admin.js';
import { Catalog } from './control/catalog.js';
import { Scrubber } from './control/scrubber.js';
import { registerControlRoutes, ValidationError } from './control/control-routes.js';
import { EventBus } from './control/event-bus.js';
import { ArtifactCache } from './mirror/artifact-cache.js';
import { RegistryService } from './mirror/registry-service.js';
import { ReleaseArtifacts } from './mirror/release-artifacts.js';
import { registerRepositoryRoutes } from './mirror/repository-routes.js';
import { RevalidatingCache } from './mirror/revalidating-cache.js';
import { JobManager } from './prewarm/jobs.js';
import { registerDashboard } from './server/dashboard.js';
import { registerHealthRoutes } from './server/health-routes.js';
import { createHttpApp, type HttpLimits } from './server/http-app.js';
import { createLogger } from './server/logger.js';
import { createMetrics, type Metrics } from './server/metrics.js';
import { BlobStore } from './store/blob-store.js';
import { CacheIndex } from './store/cache-index.js';
import { acquireDataDirLock, type DataDirLock } from './store/data-dir-lock.js';
import { FsStorage, type ObjectStorage } from './store/object-storage.js';
import { S3Storage } from './store/s3-storage.js';
import { UpstreamClient } from './upstream/upstream-client.js';
import { VERSION } from './version.js';

export interface Engine {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly index: CacheIndex;
  readonly store: BlobStore;
  readonly upstream: UpstreamClient;
  readonly catalog: Catalog;
  readonly admin: CacheAdmin;
  readonly jobs: JobManager;
  readonly events: EventBus;
  readonly scrubber: Scrubber;
  /** The control API token (after start or open). */
  readonly token: string;
  /** Opens the data dir (lock, index) without listening: for CLI commands. */
  open(role?: 'prewarm' | 'verify' | 'status'): Promise<void>;
  /** Opens the data dir, listens, and returns the base URL, e.g. http://127.0.0.1:4000. */
  start(): Promise<string>;
  /** Aborts downloads in flight (discarding their partial files), closes the server, writes the index. */
  stop(): Promise<void>;
  status(): Promise<StatusResponse>;
  settings(): SettingsResponse;
  updateSettings(patch: Record<string, unknown>): Promise<SettingsResponse>;
  prewarm(request: PrewarmRequest): Promise<JobView>;
}

export interface EngineOptions {
  log?: Logger;
  /** Process-wide metrics (memory, CPU) on /metrics; off in tests that run several engines. */
  processMetrics?: boolean;
  /** How often an unreachable upstream is asked whether it is back. */
  healthProbeMs?: number;
  /** Tighter HTTP bounds, for tests of slow and hostile clients. */
  httpLimits?: Partial<HttpLimits>;
}

async function total(counter: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

export function createEngine(initial: Config, options: EngineOptions = {}): Engine {
  let config = initial;
  const getConfig = () => config;
  const log = options.log ?? createLogger(config.logLevel);
  const metrics = createMetrics({ defaultMetrics: options.processMetrics ?? false });
  const shutdown = new AbortController();
  const events = new EventBus();
  const transferWatchers = new Set<(key: string, bytes: number, total?: number) => void>();
  const store = new BlobStore(config.dataDir);
  const index = new CacheIndex(config.dataDir, log, undefined, (error) => store.health.failed(error));
  const storage: ObjectStorage = config.storage.kind === 's3' ? new S3Storage(config.storage, store, log) : new FsStorage(store);
  const upstream = new UpstreamClient(config.upstream, log, metrics);
  const mutable = new RevalidatingCache(store, storage, index, upstream, log, metrics, shutdown.signal);
  const registry = new RegistryService(config.upstream, () => config.registryTtlSeconds * 1000, mutable, store, index);
  const artifacts = new ArtifactCache(
    store,
    storage,
    index,
    upstream,
    log,
    metrics,
    () => ({ attempts: config.upstream.retryAttempts, delayMs: config.upstream.retryDelayMs }),
    shutdown.signal,
    {
      started: (transfer) => events.publish({ type: 'transfer', transfer: { ...transfer } }),
      progress: (transfer) => {
        events.publishCoalesced(transfer.id, { type: 'transfer', transfer: { ...transfer } });
        for (const watch of transferWatchers) watch(transfer.key, transfer.bytes, transfer.totalBytes);
      },
      ended: (transfer, outcome, error) => {
        events.cancelCoalesced(transfer.id);
        events.publish({ type: 'transfer-end', id: transfer.id, key: transfer.key, outcome, ...(error ? { error } : {}) });
      },
    },
  );
  const releases = new ReleaseArtifacts(getConfig, registry, artifacts, index, store, upstream, metrics);
  const catalog = new Catalog(index, registry, config.dataDir);
  const admin = new CacheAdmin(config.dataDir, store, storage, index, catalog, log);
  const scrubber = new Scrubber({
    dataDir: config.dataDir,
    index,
    admin,
    refetch: async (_key, entry) => {
      if (!entry.package || !entry.version || !config.upstream.enabled) return entry.kind === 'tarball' || entry.kind === 'docs' ? false : null;
      if (entry.kind === 'tarball') return (await releases.ensureTarball(entry.package, entry.version)).fetched;
      if (entry.kind === 'docs') return (await releases.ensureDocs(entry.package, entry.version)).fetched;
      return null;
    },
    settings: () => config.scrub,
    publish: (scrub) => events.publish({ type: 'scrub', scrub }),
    log,
    metrics,
  });
  store.health.onChange((storage) => {
    if (storage.writable) log.info({ event: 'storage_recovered' }, 'the cache disk takes writes again; caching resumed');
    else log.error({ event: 'storage_failed', reason: storage.reason, error: storage.lastError }, 'the cache disk refuses writes; passing downloads through without keeping them');
    void storageView().then((view) => events.publish({ type: 'storage', storage: view }));
  });
  const jobs = new JobManager({
    registry,
    releases,
    config: getConfig,
    log,
    publish: (event, coalesceKey) => {
      if (coalesceKey) return events.publishCoalesced(coalesceKey, event);
      if (event.type === 'job') events.cancelCoalesced(`job:${event.job.id}`);
      events.publish(event);
    },
    onTransfer: (watch) => {
      transferWatchers.add(watch);
      return () => transferWatchers.delete(watch);
    },
    signal: shutdown.signal,
  });
  const app = createHttpApp(metrics, (req, res) => releases.serveWarmTarball(req, res), options.httpLimits);
  const startedAt = Date.now();
  let url = '';
  let token = '';
  let lock: DataDirLock | undefined;
  let reconciling: Promise<unknown> = Promise.resolve();

  index.onChange((change) => {
    events.publish({ type: 'cache', change: change.type, key: change.key });
    if (change.type === 'stored' && (change.entry?.kind === 'tarball' || change.entry?.kind === 'docs')) {
      void admin.enforceCap(config.sizeCapBytes).catch((error: Error) => log.error({ error: error.message }, 'eviction failed'));
    }
  });

  const healthView = () => ({
    url: config.upstream.url,
    enabled: config.upstream.enabled,
    reachable: upstream.health.reachable ?? null,
    ...(upstream.health.lastError ? { lastError: upstream.health.lastError } : {}),
    ...(upstream.health.lastErrorAt ? { lastErrorAt: upstream.health.lastErrorAt } : {}),
    ...(upstream.health.lastOkAt ? { lastOkAt: upstream.health.lastOkAt } : {}),
    ...(upstream.health.latencyMs !== undefined ? { latencyMs: upstream.health.latencyMs } : {}),
  });
  upstream.onHealthChange(() => events.publish({ type: 'health', upstream: healthView() }));
  const stopWatchingHealth = upstream.watchHealth(options.healthProbeMs ?? 10_000);

  /** Setup points clients at this server's own URL unless told another (validated) one. */
  const setupContext = (mirrorUrl?: string): SetupContext => {
    let target = url;
    if (mirrorUrl !== undefined) {
      try {
        target = parseHttpUrl(mirrorUrl);
      } catch (error) {
        throw new ValidationError({ mirrorUrl: (error as Error).message });
      }
    }
    return { env: process.env, dataDir: config.dataDir, mirrorUrl: target };
  };

  const storageView = async () => ({ ...(await store.health.view()), backend: storage.kind, location: storage.location });
  let syncTimer: NodeJS.Timeout | undefined;

  const settingsView = (): SettingsResponse => ({ values: settingsOf(config), fixedByEnv: config.fixedByEnv });

  /** Takes the data dir's lock, then prepares the store and loads the index, catalog and token. */
  const openDataDir = async (role: 'server' | 'prewarm' | 'verify' | 'status'): Promise<DataDirLock> => {
    await mkdir(config.dataDir, { recursive: true });
    const held = await acquireDataDirLock(config.dataDir, role);
    lock = held;
    try {
      await store.init();
      await storage.open();
      await index.load();
      catalog.rebuild();
      token = await loadOrCreateToken(config.dataDir);
    } catch (error) {
      await held.release();
      throw error;
    }
    return held;
  };

  const engine: Engine = {
    get config() {
      return config;
    },
    log,
    metrics,
    index,
    store,
    upstream,
    catalog,
    admin,
    jobs,
    events,
    scrubber,
    get token() {
      return token;
    },

    async open(role = 'status') {
      await openDataDir(role);
      await storage.reconcile(index);
    },

    async start() {
      const held = await openDataDir('server');
      try {
        const guard = new AccessGuard(token, () => allowedHosts(config.host, (app.server.address() as AddressInfo).port));
        registerControlRoutes(app, {
          guard,
          status: () => engine.status(),
          catalog,
          admin,
          settings: settingsView,
          updateSettings: (patch) => engine.updateSettings(patch),
          sizeCap: () => config.sizeCapBytes,
          jobs,
          setup: {
            state: (mirrorUrl) => inspectSetup(setupContext(mirrorUrl)),
            apply: async (request) => {
              const ctx = setupContext(request.mirrorUrl);
              const result = request.dryRun ? { changes: await planSetup(ctx), backup: null } : await applySetup(ctx);
              return { ...result, state: await inspectSetup(ctx) };
            },
            undo: async () => {
              const ctx = setupContext();
              const { restored } = await undoSetup(ctx);
              return { changes: [], backup: null, restored, state: await inspectSetup(ctx) };
            },
          },
          events,
          log,
        });
        registerHealthRoutes(app, { storage, storageWritable: () => store.health.writable, upstream: healthView });
        registerRepositoryRoutes(app, { config: getConfig, registry, mutable, releases, store, index, metrics, log });
        await registerDashboard(app, guard, token);
        await app.listen({ host: config.host, port: config.port });
      } catch (error) {
        await held.release();
        throw error;
      }
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `http://${host}:${address.port}`;
      await held.update({ url });
      // Files a crash left unrecorded are adopted in the background; serving does not wait.
      const reconcile = () => storage.reconcile(index).catch((error: Error) => log.error({ event: 'reconcile_failed', error: error.message }, 'cache reconciliation failed'));
      reconciling = reconcile();
      // Shared storage: what other instances store shows up in this one's index and listing.
      if (config.storage.kind === 's3') {
        syncTimer = setInterval(() => (reconciling = reconciling.then(reconcile)), config.storage.syncIntervalSeconds * 1000);
        syncTimer.unref();
      }
      await scrubber.start();
      log.info({ event: 'listening', url, upstream: config.upstream.url, dataDir: config.dataDir }, 'mirror listening');
      return url;
    },

    async stop() {
      shutdown.abort(new Error('shutting down'));
      stopWatchingHealth();
      clearInterval(syncTimer);
      jobs.cancelAll();
      await Promise.all([app.close(), artifacts.settle(), mutable.settle(), scrubber.stop()]);
      await reconciling;
      await index.flush();
      await storage.close?.();
      await lock?.release();
      log.info({ event: 'stopped' }, 'mirror stopped');
      log.flush?.();
    },

    async status() {
      const counts = catalog.counts();
      return {
        version: VERSION,
        url,
        dataDir: config.dataDir,
        startedAt,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        offline: !config.upstream.enabled,
        upstream: healthView(),
        counters: {
          hits: await total(metrics.hits),
          misses: await total(metrics.misses),
          staleServes: await total(metrics.staleServes),
          bytesServed: await total(metrics.bytesServed),
          upstreamBytes: await total(metrics.upstreamBytes),
          upstreamErrors: await total(metrics.upstreamErrors),
          verificationFailures: await total(metrics.verificationFailures),
        },
        cache: counts,
        busy: { transfers: artifacts.active, jobs: jobs.active },
        storage: await storageView(),
        scrub: scrubber.view(),
      };
    },

    settings: settingsView,

    async updateSettings(patch) {
      const result = applySettingsPatch(config, patch);
      if (result.errors) throw new ValidationError(result.errors);
      config = withSettings(config, result.settings);
      upstream.updateConfig(config.upstream);
      registry.updateConfig(config.upstream);
      // Values fixed by the environment are not saved: they come from the environment each start.
      const saved: Record<string, unknown> = { ...result.settings };
      for (const name of Object.keys(config.fixedByEnv)) delete saved[name];
      await saveSettings(config.dataDir, saved);
      log.info({ event: 'settings_changed', fields: Object.keys(patch) }, 'settings changed');
      const view = settingsView();
      events.publish({ type: 'settings', settings: view });
      events.publish({ type: 'health', upstream: healthView() });
      void admin.enforceCap(config.sizeCapBytes);
      return view;
    },

    prewarm: (request) => jobs.start(request),
  };
  return engine;
}
