// Starts the real engine in this process against a fake upstream, with its own temporary
// data dir and its log lines captured for assertions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Config } from '../../src-main/config/config.js';
import { loadStartupConfig } from '../../src-main/config/saved-settings.js';
import { createEngine, type Engine, type EngineInternals, type EngineOptions } from '../../src-main/engine.js';
import { testKeys } from './hex-fixtures.js';

export interface TestMirror {
  url: string;
  /** With its internals: tests look at the index, the store and the rest directly. */
  engine: Engine & EngineInternals;
  dataDir: string;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
  /** Stops, keeps the data dir, and starts a new engine on it. */
  restart(env?: Record<string, string>): Promise<TestMirror>;
}

export async function startMirror(
  upstreamUrl: string,
  env: Record<string, string> = {},
  dataDir?: string,
  options: Omit<EngineOptions, 'log'> = {},
): Promise<TestMirror> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'hexhub-test-')));
  const config: Config = loadStartupConfig(
    {
      UPSTREAM_URL: upstreamUrl,
      UPSTREAM_BUILDS_URL: upstreamUrl,
      UPSTREAM_API_URL: `${upstreamUrl}/api`,
      UPSTREAM_PUBLIC_KEY: testKeys().publicKeyPem,
      UPSTREAM_RETRY_DELAY: '20',
      UPSTREAM_TIMEOUT: '2000',
      ...env,
    },
    { host: env.HEXHUB_HOST ?? '127.0.0.1', port: 0, dataDir: dir },
  );
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const engine = createEngine(config, { ...options, log: pino({ level: 'info' }, sink) });
  const url = await engine.start();
  let stopped = false;
  const mirror: TestMirror = {
    url,
    engine,
    dataDir: dir,
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      await engine.stop();
    },
    async restart(nextEnv = env) {
      await mirror.stop();
      return startMirror(upstreamUrl, nextEnv, dir, options);
    },
  };
  return mirror;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
