// Start-up configuration: environment variables (the names the original HexHub used),
// overridden by command-line flags. Every value is validated here, once, so a typo
// fails at start with the variable's name rather than as a confusing error later.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import envPaths from 'env-paths';
import { loadPublicKey } from '../hex/registry.js';
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
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Registry resources older than this are revalidated with the upstream. */
  registryTtlSeconds: number;
  logLevel: string;
  upstream: UpstreamConfig;
}

/** Flags that override their environment variable. */
export interface ConfigOverrides {
  host?: string;
  port?: string | number;
  dataDir?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
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

function parseBoolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got "${value}"`);
}

function parseInteger(name: string, value: string | number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) throw new ConfigError(name, `expected a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function parseHttpUrl(name: string, value: string | undefined, fallback: string): string {
  const text = value ?? fallback;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(name, `"${text}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http:// or https:// URL, got "${text}"`);
  }
  if (url.search || url.hash) throw new ConfigError(name, `must not have a query or fragment, got "${text}"`);
  return url.toString().replace(/\/+$/, '');
}

function parsePublicKey(name: string, value: string | undefined): string {
  if (value === undefined) return HEXPM_PUBLIC_KEY;
  let pem = value;
  if (!value.includes('-----BEGIN')) {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (error) {
      throw new ConfigError(name, `neither PEM text nor a readable file: ${(error as Error).message}`);
    }
  }
  try {
    loadPublicKey(pem);
  } catch (error) {
    throw new ConfigError(name, `not a valid PEM public key: ${(error as Error).message}`);
  }
  return pem;
}

function parseHost(name: string, value: string): string {
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(value)) throw new ConfigError(name, `"${value}" is not a host name or address`);
  return value.replace(/^\[(.*)\]$/, '$1');
}

export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}): Config {
  const dataDir = overrides.dataDir ?? read(env, 'HEXHUB_DATA_DIR') ?? defaultDataDir();
  const repoName = read(env, 'UPSTREAM_REPO_NAME') ?? 'hexpm';
  if (!/^[a-z][a-z0-9_]*$/.test(repoName)) throw new ConfigError('UPSTREAM_REPO_NAME', `"${repoName}" is not a repository name`);
  return {
    host: parseHost(overrides.host !== undefined ? '--host' : 'HEXHUB_HOST', overrides.host ?? read(env, 'HEXHUB_HOST') ?? '127.0.0.1'),
    port: parseInteger(overrides.port !== undefined ? '--port' : 'HEXHUB_PORT', overrides.port ?? read(env, 'HEXHUB_PORT'), 4000, 0, 65535),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(dataDir),
    registryTtlSeconds: parseInteger('HEXHUB_REGISTRY_TTL', read(env, 'HEXHUB_REGISTRY_TTL'), 300, 0, 7 * 24 * 3600),
    logLevel: (() => {
      const level = read(env, 'HEXHUB_LOG_LEVEL') ?? 'info';
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
        throw new ConfigError('HEXHUB_LOG_LEVEL', `unknown level "${level}"`);
      }
      return level;
    })(),
    upstream: {
      enabled: parseBoolean('UPSTREAM_ENABLED', read(env, 'UPSTREAM_ENABLED'), true),
      url: parseHttpUrl('UPSTREAM_URL', read(env, 'UPSTREAM_URL'), 'https://repo.hex.pm'),
      buildsUrl: parseHttpUrl('UPSTREAM_BUILDS_URL', read(env, 'UPSTREAM_BUILDS_URL'), 'https://builds.hex.pm'),
      apiUrl: parseHttpUrl('UPSTREAM_API_URL', read(env, 'UPSTREAM_API_URL'), 'https://hex.pm/api'),
      repoName,
      publicKeyPem: parsePublicKey('UPSTREAM_PUBLIC_KEY', read(env, 'UPSTREAM_PUBLIC_KEY')),
      timeoutMs: parseInteger('UPSTREAM_TIMEOUT', read(env, 'UPSTREAM_TIMEOUT'), 30_000, 1, 3_600_000),
      retryAttempts: parseInteger('UPSTREAM_RETRY_ATTEMPTS', read(env, 'UPSTREAM_RETRY_ATTEMPTS'), 3, 0, 20),
      retryDelayMs: parseInteger('UPSTREAM_RETRY_DELAY', read(env, 'UPSTREAM_RETRY_DELAY'), 1000, 0, 600_000),
    },
  };
}
