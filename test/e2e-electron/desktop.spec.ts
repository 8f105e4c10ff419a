// The desktop app end to end, driven by Playwright's _electron: the window opens on the
// dashboard, the dashboard gets its connection through the preload contract (and nothing of
// Node), the tray menu model matches the engine's state, and closing hides to the tray.
// Runs wherever Electron's binary is installed and a display exists; skipped with the reason
// printed elsewhere (CI here installs electron without its binary: no route to its host).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { displayProblem, findElectron } from '../../scripts/electron-binary.mjs';
import type { DesktopTestHooks } from '../../src-main/desktop/test-hooks.js';
import type { HexhubBridge } from '../../src-shared/ipc-contract.js';

const MAIN = fileURLToPath(new URL('../../dist/src-main/desktop/main.js', import.meta.url));
const HOOKS = '__hexhubTestHooks'; // TEST_HOOKS_KEY; evaluate() callbacks cannot see imports
const binary = findElectron();
const skipReason = binary.ok ? displayProblem() : `Electron's binary is not installed here (${binary.reason})`;
if (skipReason) console.log(`SKIPPED: desktop e2e tests: ${skipReason}`);
test.skip(skipReason !== undefined, skipReason ?? '');

let app: ElectronApplication;
let page: Page;
let root: string;

test.beforeAll(async () => {
  if (skipReason || !binary.ok) return;
  root = await mkdtemp(join(tmpdir(), 'hexhub-e2e-electron-'));
  app = await electron.launch({
    executablePath: binary.path,
    // Chromium will not start as root with its sandbox on (CI machines run as root).
    args: [...(process.platform === 'linux' && process.getuid?.() === 0 ? ['--no-sandbox'] : []), MAIN],
    env: {
      ...process.env,
      HEXHUB_TEST_HOOKS: '1',
      // Its own preferences and single-instance lock, its own data dir, any free port, and an
      // upstream that is never asked (nothing here fetches packages).
      HEXHUB_USER_DATA_DIR: join(root, 'user-data'),
      HEXHUB_DATA_DIR: join(root, 'data'),
      HEXHUB_PORT: '0',
      UPSTREAM_URL: 'http://127.0.0.1:9',
      HEXHUB_LOG_LEVEL: 'warn',
    },
  });
  page = await app.firstWindow();
  // The window signs in through a one-time link, whose page moves on to the dashboard (which
  // then takes the page secret off the address bar).
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/#\/overview$/);
  await page.waitForLoadState('domcontentloaded');
});

test.afterAll(async () => {
  await app?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Reads a test hook in the main process (a value, or what a hook function returns). */
const hook = <K extends keyof DesktopTestHooks>(name: K) =>
  app.evaluate(
    (_electron, [key, member]) => {
      const value = ((globalThis as Record<string, unknown>)[key] as Record<string, unknown>)[member];
      return typeof value === 'function' ? (value as () => unknown)() : value;
    },
    [HOOKS, name] as const,
  ) as Promise<DesktopTestHooks[K] extends () => infer R ? R : DesktopTestHooks[K]>;

test('the window opens on the dashboard', async () => {
  const dashboardUrl = await hook('dashboardUrl');
  expect(dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(page.url()).toBe(`${dashboardUrl}#/overview`);
  await expect(page.locator('#root')).not.toBeEmpty();
  expect(await hook('windowVisible')).toBe(true);
});

test('the dashboard gets its connection through the preload contract, and no Node', async () => {
  const bridge = await page.evaluate(() => {
    const hexhub = (globalThis as { hexhub?: HexhubBridge }).hexhub;
    return {
      keys: Object.keys(hexhub ?? {}).sort(),
      desktop: hexhub?.desktop,
      baseUrl: hexhub?.baseUrl,
      hasToken: typeof hexhub?.token === 'string' && hexhub.token.length > 0,
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
    };
  });
  expect(bridge).toMatchObject({
    keys: ['baseUrl', 'desktop', 'openExternal', 'token'],
    desktop: true,
    hasToken: true,
    require: 'undefined',
    process: 'undefined',
  });
  expect(`${bridge.baseUrl}/#/overview`).toBe(page.url());
  // The token from the bridge opens the control API, from the page's own origin.
  const status = await page.evaluate(async () => {
    const hexhub = (globalThis as { hexhub?: HexhubBridge }).hexhub!;
    const response = await fetch('/-/api/status', { headers: { 'x-hexhub-token': hexhub.token } });
    return { code: response.status, url: ((await response.json()) as { url: string }).url };
  });
  expect(status).toEqual({ code: 200, url: bridge.baseUrl });
});

test('the tray menu model follows the engine', async () => {
  expect(await hook('trayState')).toBe('running');
  const menu = await hook('trayMenu');
  expect(menu.map((item) => item.label).filter(Boolean)).toEqual([
    expect.stringMatching(/^Running at http:\/\/127\.0\.0\.1:\d+$/),
    'Open dashboard',
    'Copy HEX_MIRROR export',
    'Set up HEX_MIRROR for mix/rebar3/shells…',
    'Pre-warm from lock file…',
    'Go offline',
    'Start at login',
    'Keep running in the tray when the window closes',
    'Quit HexHub',
  ]);
  // Offline from the dashboard's API: the tray follows the engine's event.
  await page.evaluate(async () => {
    const hexhub = (globalThis as { hexhub?: HexhubBridge }).hexhub!;
    await fetch('/-/api/settings', {
      method: 'PATCH',
      headers: { 'x-hexhub-token': hexhub.token, 'content-type': 'application/json' },
      body: JSON.stringify({ upstreamEnabled: false }),
    });
  });
  await expect.poll(() => hook('trayState')).toBe('offline');
  expect((await hook('trayMenu')).find((item) => item.id === 'toggle-offline')?.label).toBe('Go online');
});

test('navigation off the dashboard is refused', async () => {
  const before = page.url();
  await page.evaluate(() => {
    (globalThis as unknown as { location: { href: string } }).location.href = 'file:///etc/passwd';
  });
  await page.waitForTimeout(500);
  expect(page.url()).toBe(before);
});

test('closing the window hides it to the tray', async () => {
  const window = await app.browserWindow(page);
  await window.evaluate((w) => w.close());
  await expect.poll(() => hook('windowVisible')).toBe(false);
  expect(await hook('trayState')).toBe('offline'); // still running, in the tray
});
