// What every CLI command needs: the configuration (validated, with a clear exit on a bad
// value) and the one way to reach the data dir — through the server that owns it, or by
// opening it directly when no server runs.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createApiClient, type ApiClient } from '../../src-shared/api-client.js';
import { ConfigError, type Config, type ConfigOverrides } from '../config/config.js';
import { loadStartupConfig } from '../config/saved-settings.js';
import { sameProof, serverProof, tokenPath } from '../control/access.js';
import { createEngine, type Engine } from '../engine.js';
import { createLogger } from '../server/logger.js';
import { DataDirBusyError, readLockOwner } from '../store/data-dir-lock.js';

export function fail(message: string, code = 2): never {
  process.stderr.write(`hexhub: ${message}\n`);
  process.exit(code);
}

export function configFrom(overrides: ConfigOverrides): Config {
  try {
    return loadStartupConfig(process.env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

export type Target = { kind: 'server'; url: string; api: ApiClient } | { kind: 'local'; engine: Engine };

/**
 * The server that owns this data dir, if one runs, with a client for its control API. The
 * lock file only says where a server was: the process there must first prove that it knows
 * the data dir's token (a challenge bound to its port) before the token is sent to it.
 */
export async function runningServer(config: Config): Promise<{ url: string; api: ApiClient } | undefined> {
  const owner = await readLockOwner(config.dataDir);
  if (owner?.role !== 'server' || !owner.url) return undefined;
  const token = (await readFile(tokenPath(config.dataDir), 'utf8')).trim();
  const nonce = randomBytes(16).toString('hex');
  const refused = `the process at ${owner.url} (pid ${owner.pid}, named in ${config.dataDir}/hexhub.lock) did not prove it is this data dir's HexHub server, so the access token was not sent to it`;
  let proof: string;
  try {
    ({ proof } = await createApiClient({ baseUrl: owner.url, token: '' }).call('POST /proof', { body: { nonce }, signal: AbortSignal.timeout(10_000) }));
  } catch (error) {
    fail(`${refused} (${(error as Error).message})`);
  }
  if (!sameProof(proof, serverProof(token, Number(new URL(owner.url).port), nonce))) fail(refused);
  return { url: owner.url, api: createApiClient({ baseUrl: owner.url, token }) };
}

/**
 * A running server on this data dir gets the work (so its dashboard shows it and nothing
 * writes behind its back); otherwise the command opens the data dir itself, holding its lock.
 */
export async function reachDataDir(config: Config, role: 'prewarm' | 'verify' | 'status'): Promise<Target> {
  const server = await runningServer(config);
  if (server) return { kind: 'server', ...server };
  // Quiet logs: the command prints its own progress.
  const engine = createEngine(config, { log: createLogger(process.env.HEXHUB_LOG_LEVEL ?? 'warn') });
  try {
    await engine.open(role);
  } catch (error) {
    if (error instanceof DataDirBusyError) fail(`${error.message}; try again when it has finished`);
    throw error;
  }
  return { kind: 'local', engine };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
