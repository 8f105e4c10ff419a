// The desktop main process (dist/src-main/desktop/main.js) started as a whole under plain
// Node, with only the `electron` module replaced (test/support/fake-electron; no Electron
// binary can be installed here): the engine starts, the window gets the locked-down
// settings and signs in to the dashboard through a one-time link, the tray and the IPC contract are in place, and SIGTERM
// quits cleanly with the engine stopped.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../support/cli.js';
import { readIndexEntries } from '../support/index-file.js';
import { removeDir } from '../support/mirror.js';

const MAIN = fileURLToPath(new URL('../../dist/src-main/desktop/main.js', import.meta.url));
const REGISTER = fileURLToPath(new URL('../support/fake-electron/register.mjs', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map(removeDir));
});

interface Report {
  ready?: boolean;
  exitCode?: number;
  sandboxEnabled?: boolean;
  windows: {
    options: { webPreferences: Record<string, unknown> };
    navigationPolicy: boolean;
    windowOpenHandler: string;
    loaded?: { requested: string; url: string; status: number; hasTokenMeta: boolean; dashboard: boolean; csp: string | null };
  }[];
  trays: { image: string; menu: string[]; tooltip: string }[];
  ipc: { channel: string; kind: string }[];
  permissionHandlers: number;
  errors: string[];
}

describe('the desktop main process', () => {
  it('starts the engine, opens a locked-down window on the dashboard, builds the tray, and quits cleanly', async () => {
    assertBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'hexhub-desktop-'));
    dirs.push(dir);
    const reportFile = join(dir, 'report.json');
    const child = spawn(process.execPath, ['--import', REGISTER, MAIN], {
      env: {
        ...process.env,
        FAKE_ELECTRON_REPORT: reportFile,
        FAKE_ELECTRON_HOME: dir,
        HEXHUB_USER_DATA_DIR: join(dir, 'userdata'),
        HEXHUB_DATA_DIR: join(dir, 'data'),
        HEXHUB_PORT: '0',
        HEXHUB_LOG_LEVEL: 'warn',
        UPSTREAM_ENABLED: 'false',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    let report: Report | undefined;
    for (let i = 0; i < 200 && !report?.ready; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(reportFile)) report = JSON.parse(await readFile(reportFile, 'utf8')) as Report;
    }
    expect(report?.ready, stderr).toBe(true);
    const window = report!.windows[0]!;
    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(existsSync(String(window.options.webPreferences.preload))).toBe(true);
    expect(window.navigationPolicy).toBe(true);
    expect(window.windowOpenHandler).toBe('function');
    // Signed in through a one-time link (the token reaches the page over IPC only, never in HTML).
    expect(window.loaded).toMatchObject({ status: 200, hasTokenMeta: false, dashboard: true });
    expect(window.loaded!.requested).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/-\/login\?code=[\w-]{43}$/);
    // The sign-in page moves on to the dashboard, handing it the session's page secret in the fragment.
    expect(window.loaded!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#session=[\w-]{43}$/);
    expect(window.loaded!.csp).toContain("default-src 'self'");
    expect(report!.sandboxEnabled).toBe(true);
    expect(report!.permissionHandlers).toBe(2);
    expect(report!.ipc.map((i) => i.channel).sort()).toEqual(['hexhub:connection', 'hexhub:open-external']);
    const tray = report!.trays[0]!;
    expect(tray.image).toMatch(/tray\/offline/);
    expect(existsSync(tray.image)).toBe(true);
    expect(tray.menu).toEqual(
      expect.arrayContaining(['Open dashboard', 'Copy HEX_MIRROR export', 'Pre-warm from lock file…', 'Start at login', 'Quit HexHub']),
    );
    expect(report!.errors).toEqual([]);
    expect(existsSync(join(dir, 'data/hexhub.lock'))).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(dir, 'data/hexhub.lock'))).toBe(false);
    expect(await readIndexEntries(join(dir, 'data'))).toEqual({});
  });
});
