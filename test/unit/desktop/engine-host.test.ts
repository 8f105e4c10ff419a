// The engine host with the real engine and real sockets: a port held by another server on
// 127.0.0.1 makes it ask (the dialog is a fake that accepts or declines) and start on the next
// free port; quitting waits for the engine to stop. Only Electron's `app` is a fake.
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src-main/config/config.js';
import { loadStartupConfig } from '../../../src-main/config/saved-settings.js';
import {
  findFreePort,
  portIsFree,
  portQuestion,
  startEngine,
  startupFailure,
  stopEngineOnQuit,
  type PortQuestion,
  type QuitEvents,
} from '../../../src-main/desktop/engine-host.js';
import { createEngine, type Engine } from '../../../src-main/engine.js';
import { DataDirBusyError } from '../../../src-main/store/data-dir-lock.js';
import { removeDir } from '../../support/mirror.js';
import { asElectron, FakeApp, fakeEvent } from './electron-fakes.js';

const dirs: string[] = [];
const servers: Server[] = [];
const engines: Engine[] = [];

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.stop().catch(() => undefined);
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});
afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

/** A real listener on 127.0.0.1 holding a port, as another program would. */
async function occupyPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return (server.address() as { port: number }).port;
}

async function configOn(port: number, dataDir?: string): Promise<Config> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'hexhub-host-')));
  if (!dataDir) dirs.push(dir);
  // Nothing here talks to the upstream; the address only has to be valid.
  return loadStartupConfig({ HEXHUB_LOG_LEVEL: 'silent', UPSTREAM_URL: 'http://127.0.0.1:9' }, { host: '127.0.0.1', port, dataDir: dir });
}

const create = (config: Config) => {
  const engine = createEngine(config);
  engines.push(engine);
  return engine;
};

describe('ports', () => {
  it('asks in plain words', () => {
    expect(portQuestion('127.0.0.1', 4000, 4001)).toMatchObject({
      message: 'Port 4000 is in use. Start on 4001?',
      buttons: ['Start on 4001', 'Quit'],
      defaultId: 0,
      cancelId: 1,
    });
  });

  it('tells a taken port from a free one and finds the next free one', async () => {
    const taken = await occupyPort();
    expect(await portIsFree('127.0.0.1', taken)).toBe(false);
    const next = await findFreePort('127.0.0.1', taken);
    expect(next).toBeGreaterThan(taken);
    expect(await portIsFree('127.0.0.1', next!)).toBe(true);
  });
});

describe('startEngine', () => {
  it('starts on the configured port without asking when it is free', async () => {
    const port = (await findFreePort('127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000)))!;
    const questions: PortQuestion[] = [];
    const result = await startEngine(await configOn(port), { create, ask: async (q) => (questions.push(q), true) });
    expect(result.started).toBe(true);
    if (!result.started) return;
    expect(result.url).toBe(`http://127.0.0.1:${port}`);
    expect(questions).toEqual([]);
  });

  it('gives the loopback URL for a wildcard listen address: what the window, the tray and setup use', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hexhub-host-'));
    dirs.push(dir);
    const config = loadStartupConfig({ HEXHUB_LOG_LEVEL: 'silent', UPSTREAM_URL: 'http://127.0.0.1:9' }, { host: '0.0.0.0', port: 0, dataDir: dir });
    const result = await startEngine(config, { create, ask: async () => true });
    if (!result.started) throw new Error('did not start');
    expect(result.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await result.engine.control.setupState()).mirrorUrl).toBe(result.url);
  });

  it('offers the next free port when the configured one is taken, and starts there when accepted', async () => {
    const taken = await occupyPort();
    const questions: PortQuestion[] = [];
    const result = await startEngine(await configOn(taken), { create, ask: async (q) => (questions.push(q), true) });
    expect(result.started).toBe(true);
    if (!result.started) return;
    const port = Number(new URL(result.url).port);
    expect(port).toBeGreaterThan(taken);
    expect(result.config.port).toBe(port);
    expect(questions.map((q) => q.message)).toEqual([`Port ${taken} is in use. Start on ${port}?`]);
    // It really serves there.
    const response = await fetch(`${result.url}/-/api/status`, { headers: { 'x-hexhub-token': result.engine.token } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { url: string }).url).toBe(result.url);
  });

  it('gives up cleanly when the user declines: no engine left listening, the data dir unlocked', async () => {
    const taken = await occupyPort();
    const config = await configOn(taken);
    const result = await startEngine(config, { create, ask: async () => false });
    expect(result).toEqual({ started: false, reason: 'declined', port: taken });
    expect(existsSync(join(config.dataDir, 'hexhub.lock'))).toBe(false);
  });

  it('says so when no free port is found', async () => {
    const taken = await occupyPort();
    const result = await startEngine(await configOn(taken), { create, ask: async () => true, findFreePort: async () => undefined });
    expect(result).toEqual({ started: false, reason: 'no-free-port', port: taken });
  });

  it('throws other failures, which startupFailure words for the user', async () => {
    const first = await startEngine(await configOn(0), { create, ask: async () => true });
    expect(first.started).toBe(true);
    if (!first.started) return;
    // Same data dir, second engine: the data dir is locked by the first.
    const error = await startEngine(await configOn(0, first.config.dataDir), { create, ask: async () => true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirBusyError);
    const message = startupFailure(error);
    expect(message.title).toBe('HexHub is already running');
    expect(message.detail).toContain(first.url);
    expect(startupFailure(Object.assign(new Error('listen EACCES'), { code: 'EACCES' }), { host: '127.0.0.1', port: 80 }).detail).toContain('127.0.0.1:80');
  });
});

describe('stopEngineOnQuit', () => {
  function fakeEngine() {
    let finish!: () => void;
    const engine = {
      stops: 0,
      start: async () => 'http://127.0.0.1:4000',
      stop: () => {
        engine.stops++;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      finish: () => finish(),
    };
    return engine;
  }

  it('holds the quit until the engine has stopped, then quits', async () => {
    const app = new FakeApp();
    const engine = fakeEngine();
    stopEngineOnQuit(asElectron<QuitEvents>(app), engine, () => undefined);

    const first = fakeEvent();
    app.emit('will-quit', first);
    expect(first.defaultPrevented).toBe(true);
    expect(engine.stops).toBe(1);
    // Asked again while stopping: still held, not stopped twice.
    const second = fakeEvent();
    app.emit('will-quit', second);
    expect(second.defaultPrevented).toBe(true);
    expect(engine.stops).toBe(1);
    expect(app.quits).toBe(0);

    engine.finish();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(app.quits).toBe(1);
    // The quit it started goes through.
    const last = fakeEvent();
    app.emit('will-quit', last);
    expect(last.defaultPrevented).toBe(false);
  });

  it('exits anyway when stopping hangs', async () => {
    const app = new FakeApp();
    stopEngineOnQuit(asElectron<QuitEvents>(app), fakeEngine(), () => undefined, 20);
    app.emit('will-quit', fakeEvent());
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(app.exits).toEqual([1]);
  });

  it('stops a real engine so its port is free again', async () => {
    const started = await startEngine(await configOn(0), { create, ask: async () => true });
    if (!started.started) throw new Error('did not start');
    const app = new FakeApp();
    const errors: Error[] = [];
    stopEngineOnQuit(asElectron<QuitEvents>(app), started.engine, (e) => errors.push(e));
    app.emit('will-quit', fakeEvent());
    await expect.poll(() => app.quits).toBe(1);
    expect(errors).toEqual([]);
    expect(await portIsFree('127.0.0.1', Number(new URL(started.url).port))).toBe(true);
    expect(existsSync(join(started.config.dataDir, 'hexhub.lock'))).toBe(false);
  });
});
