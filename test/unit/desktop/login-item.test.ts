// Start at login: Electron's login item API on macOS and Windows (its `app` is a fake here),
// a real freedesktop.org autostart file on Linux (in a temporary XDG_CONFIG_HOME).
import type { App } from 'electron';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { autostartFile, createLoginItem, desktopEntry, execArgument, HIDDEN_FLAG, launchCommand, startedHidden } from '../../../src-main/desktop/login-item.js';
import { removeDir } from '../../support/mirror.js';
import { asElectron, FakeApp } from './electron-fakes.js';

type LoginApp = Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'>;
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

describe('on Linux', () => {
  it('toggles an autostart entry that starts the app hidden', async () => {
    const config = await mkdtemp(join(tmpdir(), 'hexhub-autostart-'));
    dirs.push(config);
    const env = { XDG_CONFIG_HOME: config };
    const item = createLoginItem({ platform: 'linux', app: asElectron<LoginApp>(new FakeApp()), command: ['/opt/HexHub/hexhub-desktop'], env });
    const file = join(config, 'autostart', 'hexhub.desktop');
    expect(item.supported).toBe(true);
    expect(item.isEnabled()).toBe(false);

    item.setEnabled(true);
    expect(item.isEnabled()).toBe(true);
    const entry = await readFile(file, 'utf8');
    expect(entry).toContain('[Desktop Entry]');
    expect(entry).toContain('Exec=/opt/HexHub/hexhub-desktop --hidden\n');

    item.setEnabled(false);
    expect(item.isEnabled()).toBe(false);
    expect(existsSync(file)).toBe(false);
    item.setEnabled(false); // already off: fine
  });

  it('puts the file under ~/.config without XDG_CONFIG_HOME', () => {
    expect(autostartFile({}, '/home/me')).toBe('/home/me/.config/autostart/hexhub.desktop');
    expect(autostartFile({ XDG_CONFIG_HOME: '' }, '/home/me')).toBe('/home/me/.config/autostart/hexhub.desktop');
  });

  it('quotes Exec arguments as the Desktop Entry Specification asks', () => {
    expect(execArgument('/usr/bin/electron')).toBe('/usr/bin/electron');
    expect(execArgument('/home/me/My Apps/hexhub')).toBe('"/home/me/My Apps/hexhub"');
    expect(execArgument('/tmp/$HOME"x')).toBe('"/tmp/\\\\$HOME\\\\"x"');
    expect(execArgument('/tmp/100%')).toBe('/tmp/100%%');
    expect(desktopEntry(['/usr/bin/electron', '/home/me/My Apps/hexhub'])).toContain('Exec=/usr/bin/electron "/home/me/My Apps/hexhub" --hidden\n');
  });
});

describe('on macOS and Windows', () => {
  it('uses the login item settings on macOS', () => {
    const app = new FakeApp();
    const item = createLoginItem({ platform: 'darwin', app: asElectron<LoginApp>(app), command: ['/Applications/HexHub.app/Contents/MacOS/HexHub'], env: {} });
    expect(item.isEnabled()).toBe(false);
    item.setEnabled(true);
    expect(app.loginSettings).toEqual([{ openAtLogin: true }]);
    expect(item.isEnabled()).toBe(true);
    item.setEnabled(false);
    expect(item.isEnabled()).toBe(false);
  });

  it('names the executable and the --hidden flag on Windows, also when asking', () => {
    const app = new FakeApp();
    const item = createLoginItem({ platform: 'win32', app: asElectron<LoginApp>(app), command: ['C:\\Program Files\\HexHub\\HexHub.exe'], env: {} });
    item.setEnabled(true);
    expect(app.loginSettings).toEqual([{ openAtLogin: true, path: 'C:\\Program Files\\HexHub\\HexHub.exe', args: [HIDDEN_FLAG] }]);
    expect(item.isEnabled()).toBe(true);
    expect(app.loginQueries.at(-1)).toEqual({ path: 'C:\\Program Files\\HexHub\\HexHub.exe', args: [HIDDEN_FLAG] });
  });

  it('is unavailable elsewhere', () => {
    const item = createLoginItem({ platform: 'freebsd', app: asElectron<LoginApp>(new FakeApp()), command: ['/x'], env: {} });
    expect(item.supported).toBe(false);
    expect(item.isEnabled()).toBe(false);
    expect(() => item.setEnabled(true)).toThrow(/not available/);
  });
});

describe('launch command and hidden start', () => {
  it('starts the right program again', () => {
    expect(launchCommand({ execPath: '/opt/HexHub/hexhub-desktop', appPath: '/opt/HexHub/resources/app.asar', isPackaged: true, env: {} })).toEqual([
      '/opt/HexHub/hexhub-desktop',
    ]);
    expect(launchCommand({ execPath: '/w/node_modules/electron/dist/electron', appPath: '/w', isPackaged: false, env: {} })).toEqual([
      '/w/node_modules/electron/dist/electron',
      '/w',
    ]);
    // An AppImage's own path, not its temporary mount.
    expect(
      launchCommand({
        execPath: '/tmp/.mount_HexHubX/hexhub-desktop',
        appPath: '/tmp/.mount_HexHubX/resources/app.asar',
        isPackaged: true,
        env: { APPIMAGE: '/home/me/HexHub.AppImage' },
      }),
    ).toEqual(['/home/me/HexHub.AppImage']);
  });

  it('starts hidden when launched by the login item', () => {
    const app = new FakeApp();
    expect(startedHidden(['/opt/HexHub/hexhub-desktop'], 'linux', asElectron<LoginApp>(app))).toBe(false);
    expect(startedHidden(['/opt/HexHub/hexhub-desktop', HIDDEN_FLAG], 'linux', asElectron<LoginApp>(app))).toBe(true);
    app.wasOpenedAtLogin = true;
    expect(startedHidden(['/Applications/HexHub.app/Contents/MacOS/HexHub'], 'darwin', asElectron<LoginApp>(app))).toBe(true);
    expect(startedHidden(['C:\\HexHub.exe'], 'win32', asElectron<LoginApp>(app))).toBe(false);
  });
});
