// What the engine reports about itself, built on demand from its parts: the same views go to
// the control API, the event stream and the health routes, so they cannot tell different stories.
import type { SettingsResponse, StatusResponse, StorageHealthView, UpstreamHealthView } from '../../src-shared/contract.js';
import { settingsOf, type Config } from '../config/config.js';
import type { RegistryService } from '../mirror/registry-service.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ObjectStorage } from '../store/object-storage.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import { VERSION } from '../version.js';
import type { Mirror } from './build.js';

export function healthView(config: Config, upstream: UpstreamClient): UpstreamHealthView {
  const health = upstream.health;
  return {
    url: config.upstream.url,
    enabled: config.upstream.enabled,
    reachable: health.reachable ?? null,
    // Offline, nothing is asked of it: for a client that is as good as unreachable.
    state: config.upstream.enabled ? health.state : 'unreachable',
    ...(health.lastError ? { lastError: health.lastError } : {}),
    ...(health.lastErrorAt ? { lastErrorAt: health.lastErrorAt } : {}),
    ...(health.lastOkAt ? { lastOkAt: health.lastOkAt } : {}),
    ...(health.latencyMs !== undefined ? { latencyMs: health.latencyMs } : {}),
  };
}

export async function storageView(store: BlobStore, storage: ObjectStorage): Promise<StorageHealthView> {
  return { ...(await store.health.view()), backend: storage.kind, location: storage.location };
}

export function settingsView(config: Config, registry: RegistryService): SettingsResponse {
  return { values: settingsOf(config), fixedByEnv: config.fixedByEnv, publicKeyFingerprint: registry.fingerprint };
}

/** `url` is the mirror's URL (mirrorUrlOf), the one the dashboard offers to copy. */
export async function statusView(mirror: Mirror, url: string): Promise<StatusResponse> {
  const { config, metrics, startedAt } = mirror;
  const cache = mirror.catalog.counts();
  return {
    version: VERSION,
    url,
    dataDir: config.current.dataDir,
    startedAt,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    offline: !config.current.upstream.enabled,
    upstream: healthView(config.current, mirror.upstream),
    counters: metrics.usage.view(),
    cache,
    busy: { transfers: mirror.artifacts.active, jobs: mirror.jobs.active },
    storage: await storageView(mirror.store, mirror.storage),
    scrub: mirror.scrubber.view(),
  };
}
