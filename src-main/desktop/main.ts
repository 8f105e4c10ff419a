// HexHub's desktop app: the Electron main process. Every decision lives in a small module named
// for what it does, which takes Electron's objects as parameters and is unit-tested under
// plain Node; this file only hands them Electron and puts them in order. It is the only
// place, with those modules, that touches electron — the engine never does.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, nativeImage, Notification, session, shell, Tray, type NativeImage } from 'electron';
import type { Config } from '../config/config.js';
import { loadStartupConfig } from '../config/saved-settings.js';
import { createEngine } from '../engine.js';
import { applySetup, planSetup } from '../setup/machine-setup.js';
import { applicationMenuTemplate } from './app-menu.js';
import { startEngine, startupFailure, stopEngineOnQuit } from './engine-host.js';
import { registerIpc } from './ipc.js';
import { createLoginItem, launchCommand, startedHidden } from './login-item.js';
import { openMainWindow, showWindow } from './main-window.js';
import { applyNavigationPolicy, applyPermissionPolicy } from './navigation-policy.js';
import { createNotifier } from './notifications.js';
import { readPreferences, writePreferences } from './preferences.js';
import { claimSingleInstance } from './single-instance.js';
import { exposeTestHooks } from './test-hooks.js';
import { createTrayController } from './tray.js';
import { trayActions, type Prompts } from './tray-actions.js';
import { snapshotOf, type TrayState } from './tray-state.js';

/** Files beside the compiled code: dist/src-main/desktop/ here, build/icons/ at the package root (in app.asar when packaged). */
const PRELOAD = fileURLToPath(new URL('./preload.cjs', import.meta.url));
const ICONS = fileURLToPath(new URL('../../../build/icons/', import.meta.url));

// Linux panels draw tray icons at 22–24 px: the 32 px image scaled down looks better there
// than the 16 px one scaled up. macOS picks the @2x file by itself on Retina screens.
function trayIcon(state: TrayState): NativeImage {
  return nativeImage.createFromPath(join(ICONS, 'tray', process.platform === 'linux' ? `${state}@2x.png` : `${state}.png`));
}

function dialogPrompts(): Prompts {
  return {
    async confirm({ message, detail, confirmLabel }) {
      const { response } = await dialog.showMessageBox({ type: 'question', message, detail, buttons: [confirmLabel, 'Cancel'], defaultId: 0, cancelId: 1, noLink: true });
      return response === 0;
    },
    async info(message, detail) {
      await dialog.showMessageBox({ type: 'info', message, detail: detail ?? '', buttons: ['OK'] });
    },
    async error(message, detail) {
      await dialog.showMessageBox({ type: 'error', message, detail: detail ?? '', buttons: ['OK'] });
    },
  };
}

function notify(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body }).show();
}

function fail(error: unknown, config?: Config): void {
  const { title, detail } = startupFailure(error, config);
  process.stderr.write(`hexhub: ${title}: ${detail}\n`);
  dialog.showErrorBox(title, detail);
  app.exit(1);
}

// ---- Before the app is ready. In an ES module entry that means before the first await. ----

// One userData folder whatever the launch (`electron main.js` in development would otherwise
// use "Electron"): it holds the preferences and keys the single-instance lock.
app.setPath('userData', process.env.HEXHUB_USER_DATA_DIR || join(app.getPath('appData'), 'HexHub'));
app.enableSandbox();

let mainWindow: BrowserWindow | undefined;
let showOnceReady = false;
let quitting = false;
const openDashboard = () => (mainWindow ? showWindow(mainWindow) : (showOnceReady = true));

if (claimSingleInstance(app, openDashboard)) {
  app.on('before-quit', () => {
    quitting = true;
  });
  // The window closed for real (close-to-tray off, or no tray): that is quitting the app.
  app.on('window-all-closed', () => app.quit());
  // `npm start` forwards Ctrl-C and SIGTERM: quit the normal way, so the engine stops cleanly.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
  // Not a top-level await: the ready event waits for the entry module to finish loading.
  app.whenReady().then(run).catch((error: unknown) => fail(error));
}

async function run(): Promise<void> {
  // 1. Configuration and the engine, on the configured port or one the user accepts.
  let config: Config;
  try {
    config = loadStartupConfig(process.env);
  } catch (error) {
    return fail(error);
  }
  let host;
  try {
    host = await startEngine(config, {
      create: (c) => createEngine(c, { processMetrics: true }),
      ask: async (question) => (await dialog.showMessageBox({ type: 'question', noLink: true, ...question })).response === 0,
    });
  } catch (error) {
    return fail(error, config);
  }
  if (!host.started) {
    if (host.reason === 'no-free-port') dialog.showErrorBox('HexHub cannot start', `Port ${host.port} is in use and no free port was found after it.`);
    app.quit();
    return;
  }
  const { engine, mirrorUrl } = host;
  stopEngineOnQuit(app, engine, (error) => engine.log.error({ error: error.message }, 'stopping the engine failed'));
  const origin = new URL(mirrorUrl).origin;
  const dashboardUrl = `${mirrorUrl}/`;
  const openExternal = (url: string) => void shell.openExternal(url);

  // 2. Security, before any web contents exist: permissions, navigation, the IPC contract.
  applyPermissionPolicy(session.defaultSession, origin);
  app.on('web-contents-created', (_event, contents) => applyNavigationPolicy(contents, origin, openExternal));
  registerIpc(ipcMain, {
    dashboardOrigin: origin,
    connection: () => ({ baseUrl: mirrorUrl, token: engine.token }),
    openExternal: (url) => shell.openExternal(url),
  });

  // 3. Menus, preferences, login item.
  const appMenu = applicationMenuTemplate(process.platform);
  Menu.setApplicationMenu(appMenu ? Menu.buildFromTemplate(appMenu) : null);
  const preferencesFile = join(app.getPath('userData'), 'preferences.json');
  let preferences = readPreferences(preferencesFile);
  const loginItem = createLoginItem({
    platform: process.platform,
    app,
    command: launchCommand({ execPath: process.execPath, appPath: app.getAppPath(), isPackaged: app.isPackaged, env: process.env }),
    env: process.env,
  });
  const loginEnabled = () => {
    try {
      return loginItem.isEnabled();
    } catch {
      return false;
    }
  };

  // 4. The tray, kept current by the engine's events.
  const prompts = dialogPrompts();
  const status = await engine.status();
  const tray = new Tray(trayIcon('running'));
  const setupContext = () => ({ env: process.env, dataDir: engine.config.dataDir, mirrorUrl });
  const trayController = createTrayController(
    {
      tray,
      icon: trayIcon,
      buildMenu: (template) => Menu.buildFromTemplate(template),
      settings: () => ({
        loginItem: { supported: loginItem.supported, enabled: loginEnabled() },
        closeToTray: preferences.closeToTray,
        ...(engine.config.fixedByEnv.upstreamEnabled ? { offlineFixedBy: engine.config.fixedByEnv.upstreamEnabled } : {}),
      }),
      actions: trayActions({
        mirrorUrl,
        openDashboard,
        clipboard,
        notify,
        setup: { plan: () => planSetup(setupContext()), apply: () => applySetup(setupContext()) },
        prewarm: {
          chooseFile: async () => {
            const result = await dialog.showOpenDialog({
              title: 'Pre-warm from lock file',
              properties: ['openFile'],
              filters: [
                { name: 'Lock files (mix.lock, rebar.lock)', extensions: ['lock'] },
                { name: 'All files', extensions: ['*'] },
              ],
            });
            return result.canceled ? undefined : result.filePaths[0];
          },
          readFile: (path) => readFile(path, 'utf8'),
          prewarm: (request) => engine.prewarm(request),
          started: (job) => notify('Pre-warm started', job.source),
        },
        updateSettings: (patch) => engine.updateSettings(patch),
        loginItem,
        setCloseToTray: async (closeToTray) => {
          preferences = { ...preferences, closeToTray };
          await writePreferences(preferencesFile, preferences);
        },
        refresh: () => trayController.refresh(),
        quit: () => app.quit(),
        prompts,
      }),
    },
    snapshotOf(status),
  );
  // Windows (and some Linux panels) report a click on the icon itself: open the window.
  tray.on('click', openDashboard);

  // 5. Notifications, from the same events.
  const notifier = createNotifier(({ title, body }) => notify(title, body), status.upstream.reachable);
  engine.events.subscribe((event) => {
    trayController.handle(event);
    notifier.handle(event);
  });

  // 6. The window, last: everything it may ask for is in place.
  mainWindow = openMainWindow({
    create: (options) => new BrowserWindow(options),
    // Signed in through a one-time link like a browser: the page carries no token, and the
    // session cookie lets a reload of the window find the dashboard again.
    url: engine.loginLink().url,
    preload: PRELOAD,
    icon: join(ICONS, '256x256.png'),
    startHidden: startedHidden(process.argv, process.platform, app) && !showOnceReady,
    closeState: () => ({ quitting, closeToTray: preferences.closeToTray, hasTray: !tray.isDestroyed() }),
    onLoadError: (error) => engine.log.error({ error: error.message, url: dashboardUrl }, 'the dashboard did not load'),
  });
  app.on('activate', openDashboard); // macOS: a click on the Dock icon

  exposeTestHooks(process.env, globalThis, {
    dashboardUrl,
    trayState: () => trayController.state(),
    trayMenu: () => trayController.menu(),
    windowVisible: () => mainWindow?.isVisible() ?? false,
  });
}
