// The one contract between the engine's control API and everything that drives it (the
// dashboard, the tray, the CLI). Both sides import these types; nothing here runs code
// that needs Node or a browser.

import type { ProblemKind } from './problems.js';

/** Reserved prefix: Hex paths never start with "/-/". */
export const API_PREFIX = '/-/api';
/** Header carrying the access token on every control call (CLI, desktop app). */
export const TOKEN_HEADER = 'x-hexhub-token';
/** In a browser: the session's page secret, sent with the session cookie on every control call. */
export const SESSION_HEADER = 'x-hexhub-session';
/** Where the sign-in page hands the dashboard its page secret: the URL fragment, `#session=…`. */
export const SESSION_FRAGMENT = 'session';

export type ObjectKind = 'registry' | 'tarball' | 'docs' | 'installs' | 'api' | 'public_key';

/**
 * What the mirror has done, kept in the data dir across restarts until the user resets it. Client
 * requests (mix, rebar3, a browser) are counted apart from pre-warm jobs, so the hit ratio says
 * how often a build was served from the cache.
 */
export interface Counters {
  /** When counting started (the first start, or the last reset), ms since the epoch. */
  since: number;
  /** Client requests answered from the cache. */
  hits: number;
  /** Client requests that had to go to the upstream. */
  misses: number;
  /** Downloads made by pre-warm jobs (not client requests). */
  prewarmFetches: number;
  staleServes: number;
  /** Body bytes sent to clients. */
  bytesServed: number;
  /** Body bytes sent to clients from the cache: what they did not have to download from the upstream. */
  bytesSaved: number;
  upstreamBytes: number;
  /** Upstream requests that failed after all their retries (one per failed request). */
  upstreamErrors: number;
  /** Upstream attempts that failed, each retry counted. */
  upstreamFailedAttempts: number;
  verificationFailures: number;
}

export interface UpstreamHealthView {
  url: string;
  enabled: boolean;
  /** null until the first upstream request. */
  reachable: boolean | null;
  /**
   * unknown: no request yet; reachable; degraded: the last attempt failed and requests are being
   * retried (clients may be waiting); unreachable: requests fail after their retries, or offline.
   */
  state: 'unknown' | 'reachable' | 'degraded' | 'unreachable';
  lastError?: string;
  lastErrorAt?: number;
  lastOkAt?: number;
  latencyMs?: number;
}

/** Whether new downloads can be kept (false: a full or failing disk; they are passed through). */
/** How a download ended: kept, refused or broken, or passed to its client without being kept (a full disk). */
export type TransferOutcome = 'stored' | 'failed' | 'passed';

export interface StorageHealthView {
  writable: boolean;
  /** Where objects are kept: the data dir, or a shared S3 bucket (team mode). */
  backend?: 'fs' | 's3';
  /** A path, or s3://bucket/prefix. */
  location?: string;
  /** 'disk full', 'read-only file system', 'write failed', 'object store unreachable', … */
  reason?: string;
  lastError?: string;
  lastErrorAt?: number;
  /** When writes started failing. */
  since?: number;
  /** When writes last started working again. */
  recoveredAt?: number;
  freeBytes?: number;
  totalBytes?: number;
}

/** The background scrub that re-reads stored objects against their checksums. */
export interface ScrubView {
  enabled: boolean;
  /** Objects checked in the pass running now, and how many it covers. */
  running?: { checked: number; total: number; startedAt: number };
  lastPass?: { startedAt: number; finishedAt: number; checked: number; problems: number };
  nextPassAt?: number;
  /** Most recent problems found, newest first (bounded). */
  problems: { key: string; reason: string; at: number; quarantined?: string; refetched: boolean | null }[];
}

export interface StatusResponse {
  version: string;
  url: string;
  dataDir: string;
  startedAt: number;
  uptimeSeconds: number;
  offline: boolean;
  upstream: UpstreamHealthView;
  counters: Counters;
  cache: { packages: number; releases: number; docs: number; bytes: number };
  /** Transfers and pre-warm jobs running now. */
  busy: { transfers: number; jobs: number };
  storage: StorageHealthView;
  scrub: ScrubView;
}

export type CacheSortField = 'name' | 'size' | 'releases' | 'fetched' | 'lastUsed' | 'hits';

export interface CacheListQuery {
  q?: string;
  sort?: CacheSortField;
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export interface CachedPackageSummary {
  name: string;
  /** Cached tarball versions, newest first. */
  versions: string[];
  /** Tarballs the size cap evicted (not stored again since): not failures, fetched again when asked for. */
  evicted: number;
  docs: number;
  size: number;
  fetchedAt: number;
  lastUsedAt: number;
  hits: number;
}

export interface CacheListResponse {
  total: number;
  page: number;
  pageSize: number;
  items: CachedPackageSummary[];
}

export interface CachedObjectView {
  key: string;
  kind: ObjectKind;
  version?: string;
  size: number;
  sha256: string;
  fetchedAt: number;
  lastUsedAt: number;
  hits: number;
}

export interface DependencyView {
  package: string;
  requirement: string;
  optional: boolean;
  app: string;
}

export interface ReleaseView {
  version: string;
  retired?: { reason: string; message?: string };
  dependencies: DependencyView[];
  innerChecksum: string;
  outerChecksum?: string;
  publishedAt?: number;
  cached: { tarball: boolean; docs: boolean };
  /** The tarball was stored once and then evicted by the size cap (not a failure: it is fetched again when asked for). */
  evicted?: { at: number; reason: 'size cap' };
}

export interface PackageDetailResponse {
  name: string;
  /** The stored registry record, or null if it is not cached. */
  registry: { fetchedAt: number; validatedAt: number; releases: ReleaseView[] } | null;
  objects: CachedObjectView[];
  size: number;
}

export interface DeleteResponse {
  removed: number;
  freedBytes: number;
}

export interface VerifyProblem {
  key: string;
  reason: string;
}

export interface VerifyReport {
  checked: number;
  ok: number;
  problems: VerifyProblem[];
  /** Where damaged files were moved, relative to the data dir. */
  quarantined: string[];
  durationMs: number;
}

export interface DiskUsageResponse {
  totalBytes: number;
  byKind: Record<ObjectKind, number>;
  /** Largest packages first (tarballs and docs). */
  byPackage: { name: string; bytes: number }[];
  freeBytes: number;
  volumeBytes: number;
  /** Used on the volume as `df` shows it: blocks − free blocks (blocks reserved for root are not "used"). */
  volumeUsedBytes: number;
  /** null: no cap. */
  sizeCapBytes: number | null;
}

/** What a size cap would evict now, least recently used first; nothing is removed by asking. */
export interface CapPreview {
  sizeCapBytes: number | null;
  /** Cached bytes now, and after the eviction. */
  totalBytes: number;
  afterBytes: number;
  evict: { key: string; name: string; version?: string; kind: ObjectKind; bytes: number; lastUsed: number }[];
  /** The evicted releases by package, largest first. */
  packages: { name: string; releases: number; bytes: number }[];
  bytes: number;
}

/** One line of the activity log the server keeps (bounded, in the data dir, newest first when listed). */
export interface ActivityEntry {
  id: number;
  at: number;
  key: string;
  kind: ObjectKind;
  /** stored/passed/failed: a download; evicted: removed by the size cap; removed: deleted by the user. */
  outcome: TransferOutcome | 'evicted' | 'removed';
  /** Who asked: a client request, a pre-warm job, or the user (removals). */
  source: 'client' | 'prewarm' | 'user' | 'cap';
  bytes: number;
  /** In user words; the internal detail is in `detail`. */
  error?: string;
  detail?: string;
}

export interface Settings {
  upstreamUrl: string;
  timeoutMs: number;
  retryAttempts: number;
  retryDelayMs: number;
  /** false = offline mode. */
  upstreamEnabled: boolean;
  registryTtlSeconds: number;
  publicKeyPem: string;
  /** null: no cap. */
  sizeCapBytes: number | null;
  prewarmConcurrency: number;
}

export type SettingName = keyof Settings;

export interface SettingsResponse {
  values: Settings;
  /** Settings fixed by an environment variable (the variable's name); they cannot be changed here. */
  fixedByEnv: Partial<Record<SettingName, string>>;
  /** Fingerprint of `values.publicKeyPem` (SHA256:…). */
  publicKeyFingerprint: string;
}

export interface ErrorBody {
  /** What went wrong (src-shared/problems.ts); transport errors of the client use their own codes. */
  error: ProblemKind | 'http_error' | 'events';
  message: string;
  /** Field-level messages for validation errors. */
  fields?: Partial<Record<string, string>>;
  /** setup_refused: why setup cannot apply, one problem each. */
  problems?: string[];
  /** 409 confirmation_required: the change of upstream that must be confirmed. */
  upstreamChange?: UpstreamChange;
}

/** Who the mirror trusts: the upstream repository and the fingerprint of the key its registry must be signed with. */
export interface UpstreamIdentity {
  url: string;
  /** SHA256:… of the key's SPKI bytes (as `ssh-keygen -l` shows keys). */
  fingerprint: string;
}

/** A change of upstream URL or key: privileged, so the settings API applies it only when confirmed with `to`. */
export interface UpstreamChange {
  from: UpstreamIdentity;
  to: UpstreamIdentity;
}

/** PATCH /settings: the settings to change and, when they change the upstream's URL or key, the identity the user confirmed. */
export type SettingsPatch = Partial<Settings> & { confirmUpstreamChange?: UpstreamIdentity };

export interface PrewarmRequest {
  /** A mix.lock or rebar.lock: its file name (to tell which) and text. */
  lockfile?: { name: string; content: string };
  /** Package names, optionally `name@version` or `name@requirement`. */
  packages?: string[];
  concurrency?: number;
}

export type JobState = 'resolving' | 'running' | 'done' | 'failed' | 'cancelled';
export type JobItemState = 'queued' | 'fetching' | 'fetched' | 'cached' | 'failed' | 'cancelled';

export interface JobItem {
  name: string;
  version: string;
  state: JobItemState;
  bytes: number;
  totalBytes?: number;
  /** In user words ("hex.pm did not answer in time"); the internal detail is in `detail`. */
  error?: string;
  detail?: string;
}

export interface JobView {
  id: string;
  source: string;
  state: JobState;
  createdAt: number;
  finishedAt?: number;
  concurrency: number;
  items: JobItem[];
  /** Not fetched by design (git and path deps, other repositories). */
  skipped: { name: string; reason: string }[];
  /**
   * What went wrong or deserves a look. `warning: true` did not stop anything asked for from being
   * fetched (a lock checksum that differs from the registry's, a retired release fetched anyway, a
   * dependency from another repository); the others did (an unknown package, no matching release),
   * and make the job 'failed'. A 'done' job has only warnings. `reason` is in user words, `detail`
   * holds the engine's message (keys, "required by …").
   */
  problems: { name: string; reason: string; detail?: string; warning?: boolean }[];
  totals: { items: number; fetched: number; cached: number; failed: number; bytes: number };
  /** Why the whole job failed or stopped, in user words ("the mirror stopped before this job finished"); the internal detail is in `detail`. */
  error?: string;
  detail?: string;
  /** The request that started the job, so it can be run again (a lock file's text is kept); a retry's is its releases as `name@version`. */
  request?: PrewarmRequest;
  /** Read back from the data dir after a restart (its transfers are not running). */
  restored?: boolean;
}

export interface TransferView {
  id: string;
  key: string;
  kind: ObjectKind;
  bytes: number;
  totalBytes?: number;
  startedAt: number;
}

export type ServerEvent =
  | { type: 'hello'; status: StatusResponse }
  | { type: 'transfer'; transfer: TransferView }
  | { type: 'transfer-end'; id: string; key: string; outcome: TransferOutcome; bytes: number; error?: string; detail?: string }
  | { type: 'activity'; entry: ActivityEntry }
  | { type: 'counters'; counters: Counters }
  | { type: 'job'; job: JobView }
  | { type: 'cache'; change: 'stored' | 'removed'; key: string }
  | { type: 'health'; upstream: UpstreamHealthView }
  | { type: 'settings'; settings: SettingsResponse }
  | { type: 'storage'; storage: StorageHealthView }
  | { type: 'scrub'; scrub: ScrubView }
  | { type: 'upstream-identity'; change: UpstreamChange; at: number };

/** A one-time dashboard sign-in link (loopback URL), good until `expiresAt` (ms since the epoch). */
export interface LoginLink {
  url: string;
  expiresAt: number;
}

/** Every control call: method, path under API_PREFIX, and the JSON it takes and returns. */
export interface ApiRoutes {
  /** No credential needed: the server proves it knows the token before a CLI sends it. */
  'POST /proof': { query: undefined; body: { nonce: string }; response: { proof: string } };
  'POST /login-links': { query: undefined; body: undefined; response: LoginLink };
  'GET /status': { query: undefined; body: undefined; response: StatusResponse };
  'GET /cache': { query: CacheListQuery; body: undefined; response: CacheListResponse };
  'DELETE /cache': { query: undefined; body: undefined; response: DeleteResponse };
  'GET /cache/:name': { query: undefined; body: undefined; response: PackageDetailResponse };
  'DELETE /cache/:name': { query: undefined; body: undefined; response: DeleteResponse };
  'DELETE /cache/:name/:version': { query: undefined; body: undefined; response: DeleteResponse };
  'POST /verify': { query: undefined; body: undefined; response: VerifyReport };
  'GET /disk': { query: undefined; body: undefined; response: DiskUsageResponse };
  'GET /disk/cap-preview': { query: { sizeCapBytes: string }; body: undefined; response: CapPreview };
  'GET /activity': { query: { limit?: string }; body: undefined; response: ActivityEntry[] };
  'POST /counters/reset': { query: undefined; body: undefined; response: Counters };
  'GET /settings': { query: undefined; body: undefined; response: SettingsResponse };
  'PATCH /settings': { query: undefined; body: SettingsPatch; response: SettingsResponse };
  'GET /jobs': { query: undefined; body: undefined; response: JobView[] };
  'POST /jobs': { query: undefined; body: PrewarmRequest; response: JobView };
  'GET /jobs/:id': { query: undefined; body: undefined; response: JobView };
  'DELETE /jobs/:id': { query: undefined; body: undefined; response: JobView };
  /** A new job for exactly the failed releases of a finished job (pinned, not resolved again); 409 (conflict) while it runs or when none failed. */
  'POST /jobs/:id/retry': { query: undefined; body: undefined; response: JobView };
  /** A new job with the same request (resolved again); 409 (conflict) while it runs. */
  'POST /jobs/:id/rerun': { query: undefined; body: undefined; response: JobView };
  /** Forget finished jobs (done, failed, cancelled); returns the jobs left. */
  'DELETE /jobs': { query: undefined; body: undefined; response: JobView[] };
  'GET /setup': { query: { mirrorUrl?: string }; body: undefined; response: SetupState };
  'POST /setup': { query: undefined; body: SetupRequest; response: SetupResult };
  'POST /setup/undo': { query: undefined; body: undefined; response: SetupResult };
}

export type ApiRoute = keyof ApiRoutes;

// ---- one-click setup (HEX_MIRROR and friends) ----

/**
 * A file setup changes. Startup files and hex.config hold tokens and API keys, so only the part
 * setup owns is ever shown: its marked block, or hex.config's mirror_url and api_url entries.
 */
export interface SetupChange {
  /** The path as the user knows it (a symbolic link is edited through, and named here as the link). */
  path: string;
  why: string;
  /** The file does not exist yet. */
  created: boolean;
  /** Unified diff of the changed part alone (the block or entry as it was, or nothing, to as it will be). */
  diff: string;
}

export interface ClientSetting {
  url: string;
  /** Where the value comes from: the environment, a config file, or the default. */
  source: string;
  pointsHere: boolean;
}

export interface SetupState {
  mirrorUrl: string;
  shell: string;
  mix: ClientSetting;
  /** Where Hex (mix) sends API calls (HEX_API_URL or HEX_API, hex.config's api_url); here means the mirror's /api. */
  hexApi: ClientSetting;
  /** The hexpm repository as rebar3 3.19 reads it (HEX_CDN alone). */
  rebar3: ClientSetting;
  /** The variables in the mirror's own environment. */
  environment: Record<string, string | null>;
  /** Files setup manages (hex.config first, then the shell startup files), and the mirror URL each sets (hex.config's mirror_url, a startup file's HexHub block), if any. */
  files: { path: string; why: string; exists: boolean; mirrorUrl?: string }[];
  /** Everything already points at this mirror. */
  applied: boolean;
}

export interface SetupRequest {
  mirrorUrl?: string;
  dryRun?: boolean;
}

export interface SetupResult {
  changes: SetupChange[];
  /** Where the previous files were saved (null for a dry run or when nothing changed); for an undo, where they were restored from. */
  backup: string | null;
  /** Files put back by an undo. */
  restored?: string[];
  state: SetupState;
}
