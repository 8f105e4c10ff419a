// The mirror engine, composed: everything the headless server, the CLI and the desktop app
// run. It never imports electron.
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { JobView, LoginLink, PrewarmRequest, SettingsPatch, SettingsResponse, StatusResponse, UpstreamChange } from '../src-shared/contract.js';
import { applySettingsPatch, parseHttpUrl, settingsOf, withSettings, type Config, type UpstreamConfig } from './config/config.js';
import { applySetup, inspectSetup, planSetup, undoSetup, type SetupContext } from './setup/machine-setup.js';
import { saveSettings } from './config/saved-settings.js';
import { AccessGuard, allowedHosts, isLoopbackListener, loadOrCreateToken, serverProof } from './control/access.js';
import { DashboardSessions } from './control/sessions.js';
import { CacheAdmin } from './control/cache-admin.js';
import { Catalog } from './control/catalog.js';
import { Scrubber } from './control/scrubber.js';
import { ConfirmationRequired, registerControlRoutes, ValidationError } from './control/control-routes.js';
import { EventBus } from './control/event-bus.js';
import { ArtifactCache } from './mirror/artifact-cache.js';
import { provenanceCheck } from './mirror/provenance.js';
import { RegistryService } from './mirror/registry-service.js';
import { ReleaseArtifacts } from './mirror/release-artifacts.js';
import { registerRepositoryRoutes } from './mirror/repository-routes.js';
import { RevalidatingCache } from './mirror/revalidating-cache.js';
import { keyFingerprint } from './hex/registry.js';
import { JobManager } from './prewarm/jobs.js';
import { LOGIN_PATH, registerDashboard } from './server/dashboard.js';
import { registerHealthRoutes } from './server/health-routes.js';
import { createHttpApp, type HttpLimits } from './server/http-app.js';
import { listenUrl } from './server/listen-url.js';
import { applyRequestPolicy } from './server/request-policy.js';
import { createLogger } from './server/logger.js';
import { createMetrics, type Metrics } from './server/metrics.js';
import { BlobStore } from './store/blob-store.js';
import { CacheIndex } from './store/cache-index.js';
import { acquireDataDirLock, type DataDirLock } from './store/data-dir-lock.js';
import { FsStorage, type ObjectStorage } from './store/object-storage.js';
import { preparePrivateDir } from './store/private-files.js';
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
  /** A one-time sign-in link for the dashboard in a browser or the desktop window (after start). */
  loginLink(): LoginLink;
  /** Opens the data dir (lock, index) without listening: for CLI commands. */
  open(role?: 'prewarm' | 'verify' | 'status'): Promise<void>;
  /** Opens the data dir, listens, and returns the base URL, e.g. http://127.0.0.1:4000. */
  start(): Promise<string>;
  /** Aborts downloads in flight (discarding their partial files), closes the server, writes the index. */
  stop(): Promise<void>;
  status(): Promise<StatusResponse>;
  settings(): SettingsResponse;
  updateSettings(patch: SettingsPatch): Promise<SettingsResponse>;
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

/** The change of trusted upstream between two configurations, if its URL or key differs. */
function upstreamChange(from: UpstreamConfig, to: UpstreamConfig): UpstreamChange | undefined {
  if (from.url === to.url && from.publicKeyPem === to.publicKeyPem) return undefined;
  return { from: { url: from.url, fingerprint: keyFingerprint(from.publicKeyPem) }, to: { url: to.url, fingerprint: keyFingerprint(to.publicKeyPem) } };
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
  // Every upstream request in flight listens for shutdown: dozens at once are normal, not a leak.
  setMaxListeners(0, shutdown.signal);
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
  const admin = new CacheAdmin(config.dataDir, store, storage, index, catalog, log, provenanceCheck({ upstream: () => config.upstream, registry, releases }));
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
  let sessions: DashboardSessions | undefined;
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

  const settingsView = (): SettingsResponse => ({ values: settingsOf(config), fixedByEnv: config.fixedByEnv, publicKeyFingerprint: registry.fingerprint });

  /** Takes the data dir's lock, then prepares the store and loads the index, catalog and token. */
  const openDataDir = async (role: 'server' | 'prewarm' | 'verify' | 'status'): Promise<DataDirLock> => {
    await preparePrivateDir(config.dataDir);
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

    loginLink() {
      if (!sessions) throw new Error('the mirror is not started');
      const { code, expiresAt } = sessions.mintCode();
      return { url: `${url}${LOGIN_PATH}?code=${code}`, expiresAt };
    },

    async open(role = 'status') {
      await openDataDir(role);
      await storage.reconcile(index);
    },

    async start() {
      const held = await openDataDir('server');
      try {
        const port = () => (app.server.address() as AddressInfo).port;
        sessions = new DashboardSessions(token, port);
        const guard = new AccessGuard(token, () => allowedHosts(config.host, port()), sessions);
        applyRequestPolicy(app, guard, { loopbackListener: isLoopbackListener(config.host) });
        registerControlRoutes(app, {
          guard,
          loginLink: () => engine.loginLink(),
          proof: (nonce) => serverProof(token, port(), nonce),
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
        registerRepositoryRoutes(app, { config: getConfig, registry, mutable, releases, store, index, catalog, upstream, metrics, log });
        await registerDashboard(app, guard, sessions);
        await app.listen({ host: config.host, port: config.port });
      } catch (error) {
        await held.release();
        throw error;
      }
      url = listenUrl(app.server.address() as AddressInfo);
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
      upstream.close();
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

    async updateSettings({ confirmUpstreamChange, ...patch }) {
      const result = applySettingsPatch(config, patch);
      if (result.errors) throw new ValidationError(result.errors);
      const next = withSettings(config, result.settings);
      // The upstream decides what every build on the machine gets: a change of its URL or key
      // is applied only as confirmed (the dashboard shows both fingerprints), and announced.
      const change = upstreamChange(config.upstream, next.upstream);
      if (change && (confirmUpstreamChange?.url !== change.to.url || confirmUpstreamChange.fingerprint !== change.to.fingerprint)) throw new ConfirmationRequired(change);
      config = next;
      upstream.updateConfig(config.upstream);
      registry.updateConfig(config.upstream);
      // Values fixed by the environment are not saved: they come from the environment each start.
      const saved: Record<string, unknown> = { ...result.settings };
      for (const name of Object.keys(config.fixedByEnv)) delete saved[name];
      await saveSettings(config.dataDir, saved);
      log.info({ event: 'settings_changed', fields: Object.keys(patch) }, 'settings changed');
      if (change) {
        log.warn({ event: 'upstream_identity_changed', from: change.from, to: change.to }, `upstream changed to ${change.to.url} (key ${change.to.fingerprint}); was ${change.from.url} (key ${change.from.fingerprint})`);
        events.publish({ type: 'upstream-identity', change, at: Date.now() });
      }
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
