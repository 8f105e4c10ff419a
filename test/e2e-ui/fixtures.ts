// The `hub` fixture: a fake hex.pm with a few packages, and the real built `hexhub serve` on
// a fresh data dir pointed at it, for each test. Plus helpers to open the dashboard, build
// lock files from the fixture releases, and save screenshots.
import { test as base, expect, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiClient, type ApiClient } from '../../src-shared/api-client.js';
import { serve, upstreamEnv, type ServeProcess } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, type PackageSpec, type PublishOptions } from '../support/hex-fixtures.js';
import { httpGet, type Reply } from '../support/http.js';
import { mountTmpfs } from '../support/tmpfs.js';

export { expect };
export { chromiumMissing, hasChromium } from './chromium.js';

/** Deterministic text that does not compress, so tarballs get the size asked for. */
function filler(label: string, bytes: number): string {
  const chunks: string[] = [];
  let block = createHash('sha256').update(label).digest();
  for (let size = 0; size < bytes; size += block.length) {
    chunks.push(block.toString('base64'));
    block = createHash('sha256').update(block).digest();
  }
  return chunks.join('').slice(0, Math.ceil((bytes * 4) / 3));
}

/** A spec whose tarball is about `kib` KiB. */
export function sized(spec: PackageSpec, kib: number): PackageSpec {
  if (!kib) return spec;
  return {
    ...spec,
    erlangModuleSource: `-module(${spec.name}).\n-export([hello/0]).\nhello() -> ok.\n%% ${filler(`${spec.name}-${spec.version}`, kib * 1024)}\n`,
  };
}

/** A small, realistic-looking repository; sizes in KiB make the disk charts readable. */
export const CATALOGUE: [PackageSpec, number, PublishOptions?][] = [
  [{ name: 'telemetry', version: '1.2.1' }, 6],
  [{ name: 'mime', version: '2.0.5' }, 12],
  [{ name: 'mime', version: '2.0.6' }, 12, { retired: { reason: 'security', message: 'use 2.0.7' } }],
  [{ name: 'plug_crypto', version: '2.0.0' }, 20],
  [
    {
      name: 'plug',
      version: '1.14.0',
      deps: [
        { name: 'mime', requirement: '~> 2.0' },
        { name: 'plug_crypto', requirement: '~> 2.0' },
        { name: 'telemetry', requirement: '~> 1.0' },
      ],
    },
    90,
  ],
  [
    {
      name: 'plug',
      version: '1.15.3',
      deps: [
        { name: 'mime', requirement: '~> 2.0' },
        { name: 'plug_crypto', requirement: '~> 2.0' },
        { name: 'telemetry', requirement: '~> 1.0' },
      ],
    },
    96,
  ],
  [{ name: 'jason', version: '1.4.1', deps: [{ name: 'decimal', requirement: '~> 2.0', optional: true }] }, 40],
  [{ name: 'decimal', version: '2.1.1' }, 30],
  [{ name: 'phoenix_pubsub', version: '2.1.3' }, 25],
  [
    {
      name: 'phoenix',
      version: '1.7.10',
      deps: [
        { name: 'plug', requirement: '~> 1.14' },
        { name: 'jason', requirement: '~> 1.0', optional: true },
        { name: 'phoenix_pubsub', requirement: '~> 2.1' },
        { name: 'telemetry', requirement: '~> 1.0' },
      ],
    },
    260,
  ],
  [
    {
      name: 'ecto',
      version: '3.11.1',
      deps: [
        { name: 'decimal', requirement: '~> 2.0' },
        { name: 'jason', requirement: '~> 1.0', optional: true },
        { name: 'telemetry', requirement: '~> 1.0' },
      ],
    },
    180,
  ],
  [{ name: 'cowlib', version: '2.12.1' }, 70],
  [{ name: 'ranch', version: '1.8.0' }, 35],
  [
    {
      name: 'cowboy',
      version: '2.10.0',
      deps: [
        { name: 'cowlib', requirement: '2.12.1' },
        { name: 'ranch', requirement: '1.8.0' },
      ],
    },
    120,
  ],
];

export async function publishCatalogue(repo: FixtureRepo): Promise<void> {
  for (const [spec, kib, options] of CATALOGUE) await repo.publish(sized(spec, kib), options ?? {});
}

export interface Hub {
  repo: FixtureRepo;
  upstream: FakeUpstream;
  dataDir: string;
  /** The running server's base URL (a restart keeps the port only when asked to). */
  url: string;
  token: string;
  api: ApiClient;
  server: ServeProcess;
  /** A Hex client request through the mirror. */
  fetch(path: string): Promise<Reply>;
  /** Stops the server and starts a new one on the same data dir (and port, with samePort). */
  restart(env?: Record<string, string>, options?: { samePort?: boolean; whileDown?: () => Promise<void> }): Promise<void>;
  stop(): Promise<void>;
  /** Signs in (once per browser context), opens the dashboard at a view and waits until its event stream is live. */
  open(page: Page, hash?: string): Promise<void>;
}

export function mixLock(repo: FixtureRepo, releases: [string, string][]): string {
  const lines = releases.map(([name, version]) => {
    const r = repo.release(name, version);
    if (!r) throw new Error(`no fixture release ${name} ${version}`);
    return `  "${name}": {:hex, :${name}, "${version}", "${r.innerChecksum}", [:mix], [], "hexpm", "${r.outerChecksum}"},`;
  });
  return ['%{', ...lines, '}', ''].join('\n');
}

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const COMMITTED = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/** Saves a screenshot as a test artifact and as the committed copy under docs/screenshots/. */
export async function snapshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await mkdir(COMMITTED, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  // No hover highlight from wherever the last click left the pointer.
  await page.mouse.move(1, 1);
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  await copyFile(file, join(COMMITTED, `${name}.png`));
}

export const test = base.extend<{ hub: Hub; hubEnv: Record<string, string>; hubTmpfsBytes: number }>({
  hubEnv: [{}, { option: true }],
  /** Put the data dir on a tmpfs of this size (full-disk tests; needs root). */
  hubTmpfsBytes: [0, { option: true }],
  hub: async ({ hubEnv, hubTmpfsBytes }, use) => {
    const repo = new FixtureRepo();
    await publishCatalogue(repo);
    const upstream = await startFakeUpstream(repo);
    const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-ui-'));
    const disk = hubTmpfsBytes ? await mountTmpfs(hubTmpfsBytes, dataDir) : undefined;
    const env = () => upstreamEnv(upstream.url, { UPSTREAM_TIMEOUT: '5000', HEXHUB_LOG_LEVEL: 'warn', ...hubEnv });
    let server = await serve(['--port', '0', '--data-dir', dataDir], env());
    const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      server.child.kill('SIGTERM');
      await server.exited;
    };
    const hub: Hub = {
      repo,
      upstream,
      dataDir,
      get url() {
        return server.url;
      },
      token,
      get api() {
        return createApiClient({ baseUrl: server.url, token });
      },
      get server() {
        return server;
      },
      fetch: (path) => httpGet(server.url, path),
      async restart(extra = {}, options = {}) {
        const port = options.samePort ? new URL(server.url).port : '0';
        await stop();
        await options.whileDown?.();
        server = await serve(['--port', port, '--data-dir', dataDir], { ...env(), ...extra });
        stopped = false;
      },
      stop,
      async open(page, hash = '#/overview') {
        // Signed in as a user is: through a one-time link, which sets the session cookie.
        const cookie = `hexhub-session-${new URL(server.url).port}`;
        if (!(await page.context().cookies(server.url)).some((c) => c.name === cookie)) {
          await page.goto((await hub.api.loginLink()).url);
          await page.waitForURL((url) => url.origin === server.url && url.pathname === '/');
          await expect(page.locator('[data-connection="live"]')).toBeVisible();
        }
        await page.goto(`${server.url}/${hash}`);
        await expect(page.locator('[data-connection="live"]')).toBeVisible();
      },
    };
    try {
      await use(hub);
    } finally {
      await stop();
      await upstream.close();
      await disk?.unmount();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
});
