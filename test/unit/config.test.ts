import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src-main/config/config.js';
import { HEXPM_PUBLIC_KEY } from '../../src-main/hex/hexpm-key.js';
import { testKeys } from '../support/hex-fixtures.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      registryTtlSeconds: 300,
      upstream: {
        enabled: true,
        url: 'https://repo.hex.pm',
        buildsUrl: 'https://builds.hex.pm',
        apiUrl: 'https://hex.pm/api',
        repoName: 'hexpm',
        timeoutMs: 30_000,
        retryAttempts: 3,
        retryDelayMs: 1000,
        publicKeyPem: HEXPM_PUBLIC_KEY,
      },
    });
    expect(config.dataDir).toMatch(/hexhub/);
  });

  it('reads the environment, and flags win over it', () => {
    const config = loadConfig(
      { UPSTREAM_ENABLED: 'false', UPSTREAM_URL: 'http://mirror.example/hex/', HEXHUB_PORT: '5000', HEXHUB_HOST: '0.0.0.0', HEXHUB_DATA_DIR: '/tmp/a' },
      { port: '0', dataDir: '/tmp/b' },
    );
    expect(config.upstream.enabled).toBe(false);
    expect(config.upstream.url).toBe('http://mirror.example/hex');
    expect(config.port).toBe(0);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/tmp/b');
  });

  it('takes the public key as PEM text or as a path to a PEM file', () => {
    const pem = testKeys().publicKeyPem;
    // Kept as the normalised SPKI PEM, whatever surrounded it.
    expect(loadConfig({ UPSTREAM_PUBLIC_KEY: `  ${pem}\n\n` }).upstream.publicKeyPem).toBe(pem);
    const file = join(mkdtempSync(join(tmpdir(), 'hexhub-key-')), 'key.pem');
    writeFileSync(file, pem);
    expect(loadConfig({ UPSTREAM_PUBLIC_KEY: file }).upstream.publicKeyPem).toBe(pem);
  });

  it.each([
    ['UPSTREAM_ENABLED', 'perhaps'],
    ['UPSTREAM_URL', 'gopher://x'],
    ['UPSTREAM_URL', 'http://x/?q=1'],
    ['UPSTREAM_TIMEOUT', '0'],
    ['UPSTREAM_TIMEOUT', '10s'],
    ['UPSTREAM_RETRY_ATTEMPTS', '100'],
    ['UPSTREAM_RETRY_DELAY', '-5'],
    ['UPSTREAM_PUBLIC_KEY', 'no-such-file.pem'],
    ['UPSTREAM_REPO_NAME', 'HexPM'],
    ['HEXHUB_PORT', '65536'],
    ['HEXHUB_HOST', 'bad host'],
    ['HEXHUB_REGISTRY_TTL', '1.5'],
    ['HEXHUB_LOG_LEVEL', 'loud'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message.startsWith(`${name}: `)).toBe(true);
  });
});

describe('storage configuration', () => {
  it('defaults to the data dir, and reads the S3 settings for team mode', () => {
    expect(loadConfig({}).storage).toEqual({ kind: 'fs' });
    expect(
      loadConfig({ HEXHUB_STORAGE: 's3', S3_BUCKET: 'team-cache', S3_ENDPOINT: 'http://127.0.0.1:7480/', S3_PREFIX: '/hex', S3_FORCE_PATH_STYLE: 'true' })
        .storage,
    ).toEqual({
      kind: 's3',
      bucket: 'team-cache',
      endpoint: 'http://127.0.0.1:7480',
      region: 'us-east-1',
      prefix: 'hex/',
      forcePathStyle: true,
      multipartThresholdBytes: 64 * 1024 * 1024,
      syncIntervalSeconds: 60,
    });
    expect(loadConfig({ HEXHUB_STORAGE: 's3', S3_BUCKET: 'b12', AWS_REGION: 'eu-west-1' }).storage).toMatchObject({
      region: 'eu-west-1',
      prefix: '',
      forcePathStyle: false,
    });
  });

  it('fails at start naming the variable', () => {
    const fails = (env: Record<string, string>, pattern: RegExp) => expect(() => loadConfig(env)).toThrow(pattern);
    fails({ HEXHUB_STORAGE: 'nfs' }, /HEXHUB_STORAGE: must be fs or s3/);
    fails({ HEXHUB_STORAGE: 's3' }, /S3_BUCKET: required when HEXHUB_STORAGE=s3/);
    fails({ HEXHUB_STORAGE: 's3', S3_BUCKET: 'Bad_Bucket' }, /S3_BUCKET: "Bad_Bucket" is not a valid bucket name/);
    fails({ HEXHUB_STORAGE: 's3', S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'ftp://x' }, /S3_ENDPOINT: must be an http/);
    fails({ HEXHUB_STORAGE: 's3', S3_BUCKET: 'ok-bucket', S3_PREFIX: 'a b' }, /S3_PREFIX/);
    fails({ HEXHUB_STORAGE: 's3', S3_BUCKET: 'ok-bucket', S3_FORCE_PATH_STYLE: 'maybe' }, /S3_FORCE_PATH_STYLE: expected true or false/);
  });
});
