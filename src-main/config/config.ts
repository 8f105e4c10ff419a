// Configuration: defaults, then settings saved from the dashboard, then environment
// variables (the names the original HexHub used), then command-line flags. Every value is
// validated here, once, by the same rules whichever way it came in, so a typo fails at
// start with the variable's name, and the settings API reports the same errors per field.
import { messageOf } from '../../src-shared/problems.js';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import envPaths from 'env-paths';
import type { SettingName, Settings } from '../../src-shared/contract.js';
import { parsePublicKeyPem } from '../hex/registry.js';
import { HEXPM_PUBLIC_KEY } from '../hex/hexpm-key.js';

export interface UpstreamConfig {
  enabled: boolean;
  url: string;
  buildsUrl: string;
  apiUrl: string;
  repoName: string;
  publicKeyPem: string;
  timeoutMs: number;
  retryAttempts: number;
  retryDelayMs: number;
  /**
   * Floor for the average rate of an upstream body once UPSTREAM_TIMEOUT has passed: an
   * upstream trickling bytes never pauses long enough for the timeout, so without it a body
   * could hold its key (and every waiter) forever. Environment only.
   */
  minBytesPerSecond: number;
  /**
   * How long a client waits for the upstream when the store has an answer (an expired record,
   * docs past their TTL): past it, the stored copy is served and the revalidation goes on in the
   * background; and a request with no response headers by then marks the upstream unreachable.
   */
  revalidateBudgetMs: number;
  /**
   * How long a client waits for the upstream when the store has nothing for it (a cold miss):
   * below Hex's own 15 s timeout, so the client gets a 504 with the reason, not a timeout of its own.
   */
  missBudgetMs: number;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Registry resources older than this are revalidated with the upstream. */
  registryTtlSeconds: number;
  /** Tarballs and docs beyond this are evicted, least recently used first; null: no cap. */
  sizeCapBytes: number | null;
  prewarmConcurrency: number;
  logLevel: string;
  /** Where objects are kept for good: the data dir, or a shared S3 bucket (team mode). */
  storage: StorageConfig;
  /** The background re-check of stored objects (see control/scrubber.ts). */
  scrub: { intervalSeconds: number; bytesPerSecond: number };
  /** Docs older than this are revalidated with the upstream (authors may replace them). */
  docsTtlSeconds: number;
  /** Memory for popular small objects (see store/hot-cache.ts). */
  hotCacheBytes: number;
  upstream: UpstreamConfig;
  /** Settings fixed by an environment variable, which the settings API may not change. */
  fixedByEnv: Partial<Record<SettingName, string>>;
}

export type StorageConfig =
  | { kind: 'fs' }
  | {
      kind: 's3';
      bucket: string;
      /** Unset: AWS's own endpoint for the region. */
      endpoint?: string;
      region: string;
      /** Key prefix inside the bucket, '' or ending in '/'. */
      prefix: string;
      forcePathStyle: boolean;
      /** Objects at least this large are uploaded in parts. */
      multipartThresholdBytes: number;
      /** How often the bucket is listed to learn what other instances stored. */
      syncIntervalSeconds: number;
    };

/** Flags that override their environment variable. */
export interface ConfigOverrides {
  host?: string;
  port?: string | number;
  dataDir?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function defaultDataDir(): string {
  return envPaths('hexhub', { suffix: '' }).data;
}

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

// Each parser takes what came in (text from the environment, JSON from the API) and
// returns the value or throws a message.
function parseBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  const v = String(value).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`expected true or false, got "${String(value)}"`);
}

function integer(min: number, max: number) {
  return (value: unknown): number => {
    const text = String(value).trim();
    // "-1" is a whole number to a person: say what is wrong with it.
    if (/^-\d+$/.test(text)) throw new Error(`must be ${min} or more, got ${text}`);
    if (!/^\d+$/.test(text)) throw new Error(`expected a whole number, got "${text}"`);
    const n = Number(text);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

/** Longer than any real repository URL; bounds what gets saved and logged. */
const MAX_URL_LENGTH = 2048;

export function parseHttpUrl(value: unknown): string {
  const text = String(value).trim();
  if (text.length > MAX_URL_LENGTH) throw new Error(`must be at most ${MAX_URL_LENGTH} characters, got ${text.length}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`"${text}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got "${text}"`);
  if (url.search || url.hash) throw new Error(`must not have a query or fragment, got "${text}"`);
  if (url.username || url.password) throw new Error('must not contain credentials');
  // DNS limits: 253 characters in all, 63 per label (IP literals pass both).
  if (url.hostname.length > 253 || url.hostname.split('.').some((label) => label.length > 63))
    throw new Error(`"${url.hostname.slice(0, 80)}…" is not a valid host name`);
  return url.toString().replace(/\/+$/, '');
}

/**
 * The repository key from the settings API or settings.json: PEM text only. A path here would
 * make the server read files with its own rights for whoever holds the token (and hang on a
 * FIFO); only the parsed public key is kept and echoed.
 */
function parsePublicKey(value: unknown): string {
  if (typeof value !== 'string') throw new Error('expected PEM text of a public key');
  return parsePublicKeyPem(value);
}

/** From the environment (the operator's own configuration) the key may also be a file's path. */
function parsePublicKeyFromEnv(value: unknown): string {
  const text = String(value).trim();
  if (text.includes('-----BEGIN')) return parsePublicKeyPem(text);
  let pem: string;
  try {
    pem = readFileSync(text, 'utf8');
  } catch (error) {
    throw new Error(`neither PEM text nor a readable file: ${messageOf(error)}`);
  }
  return parsePublicKeyPem(pem);
}

/** A size cap in bytes (or with K, M, G, T); empty, 0 or "none" is no cap (null). */
export function parseSizeCap(value: unknown): number | null {
  if (value === null) return null;
  const text = String(value).trim().toUpperCase();
  if (text === '' || text === '0' || text === 'NONE') return null;
  if (/^-/.test(text)) throw new Error('must be 0 or more; leave it empty for no cap');
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)I?B?$/.exec(text);
  if (!match) throw new Error(`expected a size in bytes (or with K, M, G, T), got "${String(value)}"`);
  const bytes = Math.round(Number(match[1]) * 1024 ** ' KMGT'.indexOf(match[2] || ' '));
  if (bytes < 1024 * 1024) throw new Error('must be at least 1 MiB, or empty for no cap');
  return bytes;
}

function parseHost(value: unknown): string {
  const text = String(value);
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(text)) throw new Error(`"${text}" is not a host name or address`);
  return text.replace(/^\[(.*)\]$/, '$1');
}

/** The settings the dashboard may change: their variable, parser (`parseEnv` for the variable, where it differs) and default. */
export const SETTINGS: {
  [K in SettingName]: { env: string; parse: (value: unknown) => Settings[K]; parseEnv?: (value: unknown) => Settings[K]; fallback: Settings[K] };
} = {
  upstreamUrl: { env: 'UPSTREAM_URL', parse: parseHttpUrl, fallback: 'https://repo.hex.pm' },
  timeoutMs: { env: 'UPSTREAM_TIMEOUT', parse: integer(1, 3_600_000), fallback: 30_000 },
  retryAttempts: { env: 'UPSTREAM_RETRY_ATTEMPTS', parse: integer(0, 20), fallback: 3 },
  retryDelayMs: { env: 'UPSTREAM_RETRY_DELAY', parse: integer(0, 600_000), fallback: 1000 },
  upstreamEnabled: { env: 'UPSTREAM_ENABLED', parse: parseBoolean, fallback: true },
  registryTtlSeconds: { env: 'HEXHUB_REGISTRY_TTL', parse: integer(0, 7 * 24 * 3600), fallback: 300 },
  publicKeyPem: { env: 'UPSTREAM_PUBLIC_KEY', parse: parsePublicKey, parseEnv: parsePublicKeyFromEnv, fallback: parsePublicKeyPem(HEXPM_PUBLIC_KEY) },
  sizeCapBytes: { env: 'HEXHUB_SIZE_CAP', parse: parseSizeCap, fallback: null },
  prewarmConcurrency: { env: 'HEXHUB_PREWARM_CONCURRENCY', parse: integer(1, 64), fallback: 8 },
};

const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

export function settingsOf(config: Config): Settings {
  return {
    upstreamUrl: config.upstream.url,
    timeoutMs: config.upstream.timeoutMs,
    retryAttempts: config.upstream.retryAttempts,
    retryDelayMs: config.upstream.retryDelayMs,
    upstreamEnabled: config.upstream.enabled,
    registryTtlSeconds: config.registryTtlSeconds,
    publicKeyPem: config.upstream.publicKeyPem,
    sizeCapBytes: config.sizeCapBytes,
    prewarmConcurrency: config.prewarmConcurrency,
  };
}

/** A config with `settings` applied (already validated). */
export function withSettings(config: Config, settings: Settings): Config {
  return {
    ...config,
    registryTtlSeconds: settings.registryTtlSeconds,
    sizeCapBytes: settings.sizeCapBytes,
    prewarmConcurrency: settings.prewarmConcurrency,
    upstream: {
      ...config.upstream,
      url: settings.upstreamUrl,
      timeoutMs: settings.timeoutMs,
      retryAttempts: settings.retryAttempts,
      retryDelayMs: settings.retryDelayMs,
      enabled: settings.upstreamEnabled,
      publicKeyPem: settings.publicKeyPem,
    },
  };
}

/**
 * Validates a change to the settings. Returns the new settings, or the field errors;
 * a field fixed by the environment is an error too.
 */
export function applySettingsPatch(
  config: Config,
  patch: Record<string, unknown>,
): { settings: Settings; errors?: undefined } | { settings?: undefined; errors: Partial<Record<string, string>> } {
  const settings = settingsOf(config);
  const errors: Partial<Record<string, string>> = {};
  for (const [name, value] of Object.entries(patch)) {
    if (!(SETTING_NAMES as string[]).includes(name)) {
      errors[name] = 'not a setting';
      continue;
    }
    const key = name as SettingName;
    const fixed = config.fixedByEnv[key];
    if (fixed) {
      errors[name] = `fixed by the environment variable ${fixed}`;
      continue;
    }
    try {
      (settings as unknown as Record<string, unknown>)[key] = SETTINGS[key].parse(value as never);
    } catch (error) {
      errors[name] = messageOf(error);
    }
  }
  return Object.keys(errors).length > 0 ? { errors } : { settings };
}

function storageConfig(env: Env, field: <T>(variable: string, value: unknown, parse: (v: unknown) => T) => T): StorageConfig {
  const kind = read(env, 'HEXHUB_STORAGE') ?? 'fs';
  if (kind === 'fs') return { kind };
  if (kind !== 's3') throw new ConfigError('HEXHUB_STORAGE', `must be fs or s3, got "${kind}"`);
  const bucket = read(env, 'S3_BUCKET');
  // S3 bucket naming rules (lowercase letters, digits, dots, hyphens; 3 to 63 characters).
  if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError('S3_BUCKET', bucket ? `"${bucket}" is not a valid bucket name` : 'required when HEXHUB_STORAGE=s3');
  const endpoint = read(env, 'S3_ENDPOINT');
  const prefix = (read(env, 'S3_PREFIX') ?? '').replace(/^\/+/, '');
  if (prefix && !/^[A-Za-z0-9._\/-]{1,512}$/.test(prefix))
    throw new ConfigError('S3_PREFIX', `"${prefix}" may only hold letters, digits, ".", "_", "-" and "/"`);
  return {
    kind,
    bucket,
    ...(endpoint ? { endpoint: field('S3_ENDPOINT', endpoint, parseHttpUrl) } : {}),
    region: read(env, 'S3_REGION') ?? read(env, 'AWS_REGION') ?? 'us-east-1',
    prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix,
    forcePathStyle: field('S3_FORCE_PATH_STYLE', read(env, 'S3_FORCE_PATH_STYLE') ?? 'false', parseBoolean),
    multipartThresholdBytes: field('S3_MULTIPART_THRESHOLD', read(env, 'S3_MULTIPART_THRESHOLD') ?? 64, integer(5, 5 * 1024)) * 1024 * 1024,
    syncIntervalSeconds: field('HEXHUB_S3_SYNC_INTERVAL', read(env, 'HEXHUB_S3_SYNC_INTERVAL') ?? 60, integer(1, 24 * 3600)),
  };
}

export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}, saved: Partial<Settings> = {}): Config {
  const field = <T>(variable: string, value: unknown, parse: (v: unknown) => T): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new ConfigError(variable, messageOf(error));
    }
  };
  const fixedByEnv: Partial<Record<SettingName, string>> = {};
  const settings = {} as Record<SettingName, unknown>;
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    const fromEnv = read(env, spec.env);
    if (fromEnv !== undefined) {
      fixedByEnv[name] = spec.env;
      settings[name] = field<unknown>(spec.env, fromEnv, (spec.parseEnv ?? spec.parse) as (v: unknown) => unknown);
    } else if (saved[name] !== undefined) {
      // A saved value that no longer parses (a deleted key file) falls back to the default.
      try {
        settings[name] = spec.parse(saved[name] as never);
      } catch {
        settings[name] = spec.fallback;
      }
    } else {
      settings[name] = spec.fallback;
    }
  }
  const dataDir = overrides.dataDir ?? read(env, 'HEXHUB_DATA_DIR') ?? defaultDataDir();
  const repoName = read(env, 'UPSTREAM_REPO_NAME') ?? 'hexpm';
  if (!/^[a-z][a-z0-9_]*$/.test(repoName)) throw new ConfigError('UPSTREAM_REPO_NAME', `"${repoName}" is not a repository name`);
  const logLevel = read(env, 'HEXHUB_LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('HEXHUB_LOG_LEVEL', `unknown level "${logLevel}"`);
  }
  const base: Config = {
    host: field(overrides.host !== undefined ? '--host' : 'HEXHUB_HOST', overrides.host ?? read(env, 'HEXHUB_HOST') ?? '127.0.0.1', parseHost),
    port: field(overrides.port !== undefined ? '--port' : 'HEXHUB_PORT', overrides.port ?? read(env, 'HEXHUB_PORT') ?? 4000, integer(0, 65535)),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(dataDir),
    registryTtlSeconds: 0,
    sizeCapBytes: null,
    prewarmConcurrency: 0,
    logLevel,
    storage: storageConfig(env, field),
    docsTtlSeconds: field('HEXHUB_DOCS_TTL', read(env, 'HEXHUB_DOCS_TTL') ?? 24 * 3600, integer(0, 365 * 24 * 3600)),
    scrub: {
      intervalSeconds: field('HEXHUB_SCRUB_INTERVAL', read(env, 'HEXHUB_SCRUB_INTERVAL') ?? 24 * 3600, integer(0, 365 * 24 * 3600)),
      bytesPerSecond: field('HEXHUB_SCRUB_RATE', read(env, 'HEXHUB_SCRUB_RATE') ?? 8, integer(1, 10_000)) * 1024 * 1024,
    },
    hotCacheBytes: field('HEXHUB_HOT_CACHE', read(env, 'HEXHUB_HOT_CACHE') ?? 64, integer(0, 4096)) * 1024 * 1024,
    upstream: {
      enabled: true,
      url: '',
      buildsUrl: field('UPSTREAM_BUILDS_URL', read(env, 'UPSTREAM_BUILDS_URL') ?? 'https://builds.hex.pm', parseHttpUrl),
      apiUrl: field('UPSTREAM_API_URL', read(env, 'UPSTREAM_API_URL') ?? 'https://hex.pm/api', parseHttpUrl),
      repoName,
      publicKeyPem: '',
      timeoutMs: 0,
      retryAttempts: 0,
      retryDelayMs: 0,
      minBytesPerSecond: field('UPSTREAM_MIN_RATE', read(env, 'UPSTREAM_MIN_RATE') ?? 1024, integer(1, 1024 * 1024 * 1024)),
      revalidateBudgetMs: field('HEXHUB_REVALIDATE_BUDGET', read(env, 'HEXHUB_REVALIDATE_BUDGET') ?? 2000, integer(0, 600_000)),
      missBudgetMs: field('HEXHUB_MISS_BUDGET', read(env, 'HEXHUB_MISS_BUDGET') ?? 12_000, integer(1, 3_600_000)),
    },
    fixedByEnv,
  };
  return withSettings(base, settings as unknown as Settings);
}
