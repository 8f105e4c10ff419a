// The one way a CLI command reaches the data dir: a Control, either the API client of the
// server that owns the data dir (so its dashboard shows the work and nothing writes behind its
// back) or, when no server runs, the Control of an engine this command opens itself, holding
// the data dir's lock. The commands make the same calls either way.
import { messageOf } from '../../src-shared/problems.js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createApiClient } from '../../src-shared/api-client.js';
import type { Control } from '../../src-shared/control.js';
import type { Config } from '../config/config.js';
import { sameProof, serverProof, tokenPath } from '../server/access.js';
import { createEngine, type Engine } from '../engine.js';
import { createLogger } from '../core/logger.js';
import { DataDirBusyError, readLockOwner, type LockOwner } from '../store/data-dir-lock.js';
import { fail } from './context.js';

export interface DataDirControl {
  control: Control;
  /** The server's URL when the work is handed to it; undefined when this command opened the data dir. */
  server?: string;
  /** Lets go of the data dir (stops the engine this command opened; nothing for a server's). */
  close(): Promise<void>;
}

/**
 * The server that owns this data dir, if one runs, with a Control over its API. The lock file
 * only says where a server was: the process there must first prove that it knows the data
 * dir's token (a challenge bound to its port) before the token is sent to it.
 */
export async function runningServer(config: Config): Promise<{ url: string; control: Control } | undefined> {
  const owner = await readLockOwner(config.dataDir);
  if (owner?.role !== 'server' || !owner.url) return undefined;
  const token = (await readFile(tokenPath(config.dataDir), 'utf8')).trim();
  const nonce = randomBytes(16).toString('hex');
  const refused = `the process at ${owner.url} (pid ${owner.pid}, named in ${config.dataDir}/hexhub.lock) did not prove it is this data dir's HexHub server, so the access token was not sent to it`;
  let proof: string;
  // Bounded: whatever listens there may never answer.
  try {
    ({ proof } = await createApiClient({
      baseUrl: owner.url,
      token: '',
      fetch: (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(10_000) }),
    }).proof(nonce));
  } catch (error) {
    fail(`${refused} (${messageOf(error)})`);
  }
  if (!sameProof(proof, serverProof(token, Number(new URL(owner.url).port), nonce))) fail(refused);
  return { url: owner.url, control: createApiClient({ baseUrl: owner.url, token }) };
}

async function openEngine(config: Config, role: Exclude<LockOwner['role'], 'server'>): Promise<Engine> {
  // Quiet logs: the command prints its own progress.
  const engine = createEngine(config, { log: createLogger(process.env.HEXHUB_LOG_LEVEL ?? 'warn') });
  try {
    await engine.open(role);
  } catch (error) {
    if (error instanceof DataDirBusyError) fail(`${error.message}; try again when it has finished`);
    throw error;
  }
  return engine;
}

export async function reachDataDir(config: Config, role: Exclude<LockOwner['role'], 'server'>): Promise<DataDirControl> {
  const server = await runningServer(config);
  if (server) return { control: server.control, server: server.url, close: async () => undefined };
  const engine = await openEngine(config, role);
  return { control: engine.control, close: () => engine.stop() };
}
