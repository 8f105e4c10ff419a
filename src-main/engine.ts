// The mirror engine: what `hexhub serve`, the CLI's own commands and the desktop app run. It
// composes the domain graph (engine/build.ts), its events (engine/events.ts), the Control
// over them (control/control-service.ts) and, when serving, the HTTP side (engine/server.ts),
// and owns the life cycle: open the data dir, listen, stop. It never imports electron.
import type { Logger } from 'pino';
import type { JobView, PrewarmRequest, SettingsPatch, SettingsResponse, StatusResponse } from '../src-shared/contract.js';
import type { Control } from '../src-shared/control.js';
import type { Config } from './config/config.js';
import { LiveConfig } from './config/live-config.js';
import { mirrorUrlOf } from './config/mirror-url.js';
import { createControl } from './control/control-service.js';
import { setupCalls } from './control/setup-calls.js';
import { buildMirror, type Mirror } from './engine/build.js';
import { claimDataDir, loadRecords, openDataDir, reconcileInBackground } from './engine/data-dir.js';
import { publishChanges } from './engine/events.js';
import { createMirrorServer, type MirrorServer } from './engine/server.js';
import { settingsView, statusView } from './engine/views.js';
import type { HttpLimits } from './server/http-app.js';
import type { DataDirLock, LockOwner } from './store/data-dir-lock.js';

/** What `hexhub serve`, the CLI and the desktop app use. */
export interface Engine {
  /** The configuration as it is now (settings change while it runs). */
  readonly config: Config;
  readonly log: Logger;
  /** The control API token (after start or open). */
  readonly token: string;
  /** Every control call, in process; the HTTP control API is an adapter over this same object. */
  readonly control: Control;
  /** Opens the data dir (lock, index) without listening: for CLI commands. */
  open(role?: Exclude<LockOwner['role'], 'server'>): Promise<void>;
  /**
   * Opens the data dir, listens, reads what the data dir records, and returns the mirror's URL
   * (mirrorUrlOf), e.g. http://127.0.0.1:4000. It listens before reading the index (most of a
   * second at 200,000 releases): `onListening` gets the URL then, and requests wait until the
   * records are read.
   */
  start(options?: { onListening?(url: string): void }): Promise<string>;
  /** Aborts downloads in flight (discarding their partial files), closes the server, writes the index. */
  stop(): Promise<void>;
}

/**
 * For tests only: the engine's parts, and the calls tests have always made on the engine
 * itself. createEngine returns them alongside the Engine; nothing in src-main reads them (the
 * CLI and the desktop app go through `control`).
 */
export interface EngineInternals extends Pick<Mirror, 'metrics' | 'index' | 'store' | 'upstream' | 'catalog' | 'admin' | 'jobs' | 'events' | 'scrubber'> {
  /** Synchronous, unlike control.settings(): tests compare it before and after a refused change. */
  settings(): SettingsResponse;
  status(): Promise<StatusResponse>;
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

export function createEngine(initial: Config, options: EngineOptions = {}): Engine & EngineInternals {
  const config = new LiveConfig(initial);
  const mirror = buildMirror(config, options);
  publishChanges(mirror);
  const stopWatchingHealth = mirror.upstream.watchHealth(options.healthProbeMs ?? 10_000);
  const { log } = mirror;
  let token = '';
  let lock: DataDirLock | undefined;
  let server: MirrorServer | undefined;
  let url: string | undefined;
  let reconciling: { stop(): Promise<unknown> } | undefined;
  // Before it listens (a CLI command's own engine), the mirror's URL is the configured one.
  const mirrorUrl = () => url ?? mirrorUrlOf(config.current.host, config.current.port);
  const settings = () => settingsView(config.current, mirror.registry);
  const status = () => statusView(mirror, mirrorUrl());
  const control = createControl({
    ...mirror,
    status,
    settings,
    setup: setupCalls({ env: process.env, dataDir: initial.dataDir, mirrorUrl }),
    server: () => (url === undefined ? undefined : server),
  });
  const takeDataDir = async (role: LockOwner['role']) => ({ lock, token } = await openDataDir(mirror, role));

  return {
    get config() {
      return config.current;
    },
    log,
    get token() {
      return token;
    },
    control,

    async open(role = 'status') {
      await takeDataDir(role);
      await mirror.storage.reconcile(mirror.index);
    },

    async start(startOptions = {}) {
      ({ lock, token } = await claimDataDir(mirror, 'server'));
      const held = lock;
      const serving = createMirrorServer(mirror, control, token, options.httpLimits);
      try {
        url = await serving.listen();
        server = serving;
        await held.update({ url });
        log.info({ event: 'listening', url, upstream: config.current.upstream.url, dataDir: initial.dataDir }, 'mirror listening');
        startOptions.onListening?.(url);
        const loading = performance.now();
        await loadRecords(mirror);
        serving.open();
        // After the requests that waited (they are answered in this turn), before any cold miss needs it.
        setImmediate(() => mirror.catalog.prepare());
        log.info({ event: 'ready', entries: mirror.index.size, loadMs: Math.round(performance.now() - loading) }, 'cache index read; serving');
      } catch (error) {
        serving.fail();
        await serving.close().catch(() => undefined);
        [server, url] = [undefined, undefined];
        await held.release();
        throw error;
      }
      reconciling = reconcileInBackground(mirror);
      await mirror.scrubber.start();
      return url;
    },

    async stop() {
      mirror.shutdown.abort(new Error('shutting down'));
      stopWatchingHealth();
      const reconciled = reconciling?.stop();
      mirror.jobs.cancelAll();
      await Promise.all([server?.close(), mirror.artifacts.settle(), mirror.mutable.settle(), mirror.scrubber.stop(), mirror.jobs.settle()]);
      mirror.upstream.close();
      mirror.store.close();
      await reconciled;
      await mirror.index.flush();
      await Promise.all([mirror.counters.flush(), mirror.activity.flush()]);
      await mirror.storage.close?.();
      await lock?.release();
      log.info({ event: 'stopped' }, 'mirror stopped');
      log.flush?.();
    },

    metrics: mirror.metrics,
    index: mirror.index,
    store: mirror.store,
    upstream: mirror.upstream,
    catalog: mirror.catalog,
    admin: mirror.admin,
    jobs: mirror.jobs,
    events: mirror.events,
    scrubber: mirror.scrubber,
    settings,
    status,
    updateSettings: (patch) => control.updateSettings(patch),
    prewarm: (request) => control.startPrewarm(request),
  };
}
