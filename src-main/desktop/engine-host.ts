// Runs the mirror engine inside the app's main process, where the tray can watch its events
// directly. When the configured port is taken, the app says so and offers the next free one
// instead of dying (a headless `hexhub serve` on another data dir, or any other program, may
// hold it); on quit it stops the engine before the process ends, so downloads in flight are
// discarded cleanly and the index is written.
import { createServer } from 'node:net';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import { DataDirBusyError } from '../store/data-dir-lock.js';

/** The part of the engine this module drives. */
export interface HostedEngine {
  start(): Promise<string>;
  stop(): Promise<void>;
}

export interface PortQuestion {
  message: string;
  detail: string;
  buttons: string[];
  defaultId: number;
  cancelId: number;
}

export function portQuestion(host: string, taken: number, next: number): PortQuestion {
  return {
    message: `Port ${taken} is in use. Start on ${next}?`,
    detail:
      `Another program is listening on ${host}:${taken}. HexHub can run on port ${next} for now; ` +
      `clients set up for port ${taken} need the new address ("Set up HEX_MIRROR…" in the tray menu does that).`,
    buttons: [`Start on ${next}`, 'Quit'],
    defaultId: 0,
    cancelId: 1,
  };
}

/** Whether something can listen on host:port right now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first free port after `from` (at most `tries` looked at), or undefined. */
export async function findFreePort(host: string, from: number, tries = 100): Promise<number | undefined> {
  for (let port = from; port <= Math.min(65535, from + tries - 1); port++) {
    if (await portIsFree(host, port)) return port;
  }
  return undefined;
}

export interface EngineHostDeps<E extends HostedEngine> {
  /** A new engine for a config: one per attempt, since an engine that failed to listen is spent. */
  create(config: Config): E;
  /** Asks the user; true means start on the offered port. */
  ask(question: PortQuestion): Promise<boolean>;
  findFreePort?: (host: string, from: number) => Promise<number | undefined>;
}

export type HostResult<E> =
  /** `url` is the mirror's URL (mirrorUrlOf): what the window, the tray and setup use. */
  { started: true; engine: E; config: Config; url: string } | { started: false; reason: 'declined' | 'no-free-port'; port: number };

function inUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';
}

/**
 * Starts an engine on the configured port, or, when that is taken, on the next free port the
 * user accepts. Other failures are thrown (see startupFailure for how to tell the user).
 */
export async function startEngine<E extends HostedEngine>(initial: Config, deps: EngineHostDeps<E>): Promise<HostResult<E>> {
  const find = deps.findFreePort ?? findFreePort;
  let config = initial;
  // Bounded: each round the port found free may be taken again before the engine listens.
  for (let attempt = 0; attempt < 5; attempt++) {
    const engine = deps.create(config);
    try {
      const url = await engine.start();
      return { started: true, engine, config, url };
    } catch (error) {
      // A failed start has already released the data dir; stop() lets go of the rest.
      await engine.stop().catch(() => undefined);
      if (!inUse(error)) throw error;
    }
    const next = await find(config.host, config.port + 1);
    if (next === undefined) return { started: false, reason: 'no-free-port', port: config.port };
    if (!(await deps.ask(portQuestion(config.host, config.port, next)))) {
      return { started: false, reason: 'declined', port: config.port };
    }
    config = { ...config, port: next };
  }
  return { started: false, reason: 'no-free-port', port: config.port };
}

/** What to tell the user when the engine cannot start at all. */
export function startupFailure(error: unknown, config?: Pick<Config, 'host' | 'port'>): { title: string; detail: string } {
  if (error instanceof DataDirBusyError) {
    const { owner } = error;
    return {
      title: 'HexHub is already running',
      detail:
        `Its data folder is in use by hexhub ${owner.role} (process ${owner.pid}${owner.url ? `, ${owner.url}` : ''}). ` +
        'Stop that one first, or start this one with HEXHUB_DATA_DIR set to another folder.',
    };
  }
  if (error instanceof ConfigError) return { title: 'HexHub cannot start: a setting is not valid', detail: error.message };
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EACCES' && config)
    return { title: 'HexHub cannot start', detail: `It is not allowed to listen on ${config.host}:${config.port}; choose another HEXHUB_PORT.` };
  return { title: 'HexHub cannot start', detail: error instanceof Error ? error.message : String(error) };
}

export interface QuitEvents {
  on(event: 'will-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  quit(): void;
  exit(code?: number): void;
}

/**
 * Holds the quit until the engine has stopped, then lets it go on. If stopping hangs (it
 * should not: stop aborts downloads), the app exits anyway after `timeoutMs`.
 */
export function stopEngineOnQuit(app: QuitEvents, engine: HostedEngine, onError: (error: Error) => void, timeoutMs = 10_000): void {
  let phase: 'running' | 'stopping' | 'stopped' = 'running';
  app.on('will-quit', (event) => {
    if (phase === 'stopped') return;
    event.preventDefault();
    if (phase === 'stopping') return;
    phase = 'stopping';
    const timer = setTimeout(() => app.exit(1), timeoutMs);
    engine
      .stop()
      .catch((error: Error) => onError(error))
      .finally(() => {
        clearTimeout(timer);
        phase = 'stopped';
        app.quit();
      });
  });
}
