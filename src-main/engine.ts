// The mirror engine, composed: everything the headless server and the desktop app run.
// It never imports electron.
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import { ArtifactCache } from './mirror/artifact-cache.js';
import { RegistryService } from './mirror/registry-service.js';
import { registerRepositoryRoutes } from './mirror/repository-routes.js';
import { RevalidatingCache } from './mirror/revalidating-cache.js';
import { createHttpApp } from './server/http-app.js';
import { createLogger } from './server/logger.js';
import { createMetrics, type Metrics } from './server/metrics.js';
import { BlobStore } from './store/blob-store.js';
import { CacheIndex } from './store/cache-index.js';
import { UpstreamClient } from './upstream/upstream-client.js';

export interface Engine {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly index: CacheIndex;
  readonly store: BlobStore;
  readonly upstream: UpstreamClient;
  /** Listens and returns the base URL, e.g. http://127.0.0.1:4000. */
  start(): Promise<string>;
  /** Aborts downloads in flight (discarding their partial files), closes the server, writes the index. */
  stop(): Promise<void>;
}

export interface EngineOptions {
  log?: Logger;
  /** Process-wide metrics (memory, CPU) on /metrics; off in tests that run several engines. */
  processMetrics?: boolean;
}

export function createEngine(config: Config, options: EngineOptions = {}): Engine {
  const log = options.log ?? createLogger(config.logLevel);
  const metrics = createMetrics({ defaultMetrics: options.processMetrics ?? false });
  const shutdown = new AbortController();
  const store = new BlobStore(config.dataDir);
  const index = new CacheIndex(config.dataDir, log);
  const upstream = new UpstreamClient(config.upstream, log, metrics);
  const mutable = new RevalidatingCache(store, index, upstream, log, metrics, shutdown.signal);
  const registry = new RegistryService(config.upstream, () => config.registryTtlSeconds * 1000, mutable, store, index);
  const artifacts = new ArtifactCache(
    store,
    index,
    upstream,
    log,
    metrics,
    () => ({ attempts: config.upstream.retryAttempts, delayMs: config.upstream.retryDelayMs }),
    shutdown.signal,
  );
  const app = createHttpApp(metrics);
  registerRepositoryRoutes(app, { config: () => config, registry, mutable, artifacts, upstream, store, index, metrics, log });

  let reconciling: Promise<unknown> = Promise.resolve();

  return {
    config,
    log,
    metrics,
    index,
    store,
    upstream,
    async start() {
      await store.init();
      await index.load();
      await app.listen({ host: config.host, port: config.port });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      // Files a crash left unrecorded are adopted in the background; serving does not wait.
      reconciling = index.reconcile(store).catch((error: Error) => log.error({ error: error.message }, 'cache reconciliation failed'));
      log.info({ event: 'listening', host: address.address, port: address.port, upstream: config.upstream.url, dataDir: config.dataDir }, 'mirror listening');
      return `http://${host}:${address.port}`;
    },
    async stop() {
      shutdown.abort(new Error('shutting down'));
      await Promise.all([app.close(), artifacts.settle(), mutable.settle()]);
      await reconciling;
      await index.flush();
      log.info({ event: 'stopped' }, 'mirror stopped');
      log.flush?.();
    },
  };
}
