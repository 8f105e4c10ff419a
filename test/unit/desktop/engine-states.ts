// Engine states for the tray and notification tests: a status as GET /-/api/status gives it,
// and the events the engine publishes (src-shared/contract.ts).
import type { JobView, ServerEvent, StatusResponse, UpstreamHealthView } from '../../../src-shared/contract.js';
import { freshCounters } from '../../../src-main/core/usage-counters.js';

export const URL_4000 = 'http://127.0.0.1:4000';

export function status(
  overrides: { offline?: boolean; reachable?: boolean | null; lastError?: string; transfers?: number; jobs?: number } = {},
): StatusResponse {
  return {
    version: '0.1.0',
    url: URL_4000,
    dataDir: '/tmp/hexhub',
    startedAt: 0,
    uptimeSeconds: 1,
    offline: overrides.offline ?? false,
    upstream: health({
      enabled: !(overrides.offline ?? false),
      reachable: overrides.reachable ?? null,
      ...(overrides.lastError ? { lastError: overrides.lastError } : {}),
    }),
    counters: freshCounters(0),
    cache: { packages: 0, releases: 0, docs: 0, bytes: 0 },
    busy: { transfers: overrides.transfers ?? 0, jobs: overrides.jobs ?? 0 },
    storage: { writable: true },
    scrub: { enabled: true, problems: [] },
  };
}

export function health(overrides: Partial<UpstreamHealthView> = {}): UpstreamHealthView {
  const view = { url: 'https://repo.hex.pm', enabled: true, reachable: true, ...overrides };
  const state = !view.enabled || view.reachable === false ? 'unreachable' : view.reachable ? 'reachable' : 'unknown';
  return { state, ...view } as UpstreamHealthView;
}

export const healthEvent = (overrides: Partial<UpstreamHealthView> = {}): ServerEvent => ({ type: 'health', upstream: health(overrides) });

export const transferStarted = (id: string): ServerEvent => ({
  type: 'transfer',
  transfer: { id, key: `tarballs/jason-1.4.${id}.tar`, kind: 'tarball', bytes: 0, startedAt: 0 },
});

export const transferEnded = (id: string): ServerEvent => ({ type: 'transfer-end', id, key: `tarballs/jason-1.4.${id}.tar`, outcome: 'stored', bytes: 0 });

export function job(id: string, state: JobView['state'], overrides: Partial<JobView> = {}): JobView {
  return {
    id,
    source: 'mix.lock (12 entries)',
    state,
    createdAt: 0,
    concurrency: 8,
    items: [],
    skipped: [],
    problems: [],
    totals: { items: 12, fetched: 9, cached: 3, failed: 0, bytes: 1000 },
    ...overrides,
  };
}

export const jobEvent = (id: string, state: JobView['state'], overrides: Partial<JobView> = {}): ServerEvent => ({
  type: 'job',
  job: job(id, state, overrides),
});

export const settingsEvent = (upstreamEnabled: boolean): ServerEvent => ({
  type: 'settings',
  settings: {
    values: {
      upstreamUrl: 'https://repo.hex.pm',
      timeoutMs: 30_000,
      retryAttempts: 3,
      retryDelayMs: 1000,
      upstreamEnabled,
      registryTtlSeconds: 300,
      publicKeyPem: '',
      sizeCapBytes: null,
      prewarmConcurrency: 8,
    },
    fixedByEnv: {},
    publicKeyFingerprint: 'SHA256:test',
  },
});
