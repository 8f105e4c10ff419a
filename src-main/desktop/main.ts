// HexHub's desktop app: the Electron main process. Every decision lives in a small module named
// for what it does, which takes Electron's objects as parameters and is unit-tested under
// plain Node; this file only hands them Electron and puts them in order. It is the only
// place, with those modules, that touches electron — the engine never does. Everything the
// app asks of the engine goes through its Control, as the dashboard's requests do.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, nativeImage, Notification, session, shell, Tray, type NativeImage } from 'electron';
import type { StatusResponse } from '../../src-shared/contract.js';
import type { Config } from '../config/config.js';
import { loadStartupConfig } from '../config/saved-settings.js';
import { createEngine, type Engine } from '../engine.js';
import { applicationMenuTemplate } from './app-menu.js';
import { chooseLockFile, dialogPrompts } from './dialogs.js';
import { startEngine, startupFailure, stopEngineOnQuit } from './engine-host.js';
import { registerIpc } from './ipc.js';
import { createLoginItem, launchCommand, startedHidden } from './login-item.js';
import { openMainWindow, showWindow } from './main-window.js';
import { applyNavigationPolicy, applyPermissionPolicy } from './navigation-policy.js';
import { createNotifier } from './notifications.js';
import { readPreferences, writePreferences, type DesktopPreferences } from './preferences.js';
import { claimSingleInstance } from './single-instance.js';
import { exposeTestHooks } from './test-hooks.js';
import { createTrayController, type TrayController } from './tray.js';
import { trayActions } from './tray-actions.js';
import { snapshotOf, type TrayState } from './tray-state.js';

/** Files beside the compiled code: dist/src-main/desktop/ here, build/icons/ at the package root (in app.asar when packaged). */
const PRELOAD = fileURLToPath(new URL('./preload.cjs', import.meta.url));
const ICONS = fileURLToPath(new URL('../../../build/icons/', import.meta.url));

// Linux panels draw tray icons at 22–24 px: the 32 px image scaled down looks better there
// than the 16 px one scaled up. macOS picks the @2x file by itself on Retina screens.
function trayIcon(state: TrayState): NativeImage {
  return nativeImage.createFromPath(join(ICONS, 'tray', process.platform === 'linux' ? `${state}@2x.png` : `${state}.png`));
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
  app
    .whenReady()
    .then(run)
    .catch((error: unknown) => fail(error));
}

// ---- The steps of a start, in order. ----

/** Configuration and the engine, on the configured port or one the user accepts; undefined when the app is quitting instead. */
async function startMirror(): Promise<{ engine: Engine; url: string } | undefined> {
  let config: Config;
  try {
    config = loadStartupConfig(process.env);
  } catch (error) {
    return void fail(error);
  }
  let host;
  try {
    host = await startEngine(config, {
      create: (c): Engine => createEngine(c, { processMetrics: true }),
      ask: async (question) => (await dialog.showMessageBox({ type: 'question', noLink: true, ...question })).response === 0,
    });
  } catch (error) {
    return void fail(error, config);
  }
  if (!host.started) {
    if (host.reason === 'no-free-port') dialog.showErrorBox('HexHub cannot start', `Port ${host.port} is in use and no free port was found after it.`);
    app.quit();
    return undefined;
  }
  const { engine } = host;
  stopEngineOnQuit(app, engine, (error) => engine.log.error({ error: error.message }, 'stopping the engine failed'));
  return { engine, url: host.url };
}

/** Security, before any web contents exist: permissions, navigation, the IPC contract. */
function secureWebContents(engine: Engine, url: string): void {
  const origin = new URL(url).origin;
  applyPermissionPolicy(session.defaultSession, origin);
  app.on('web-contents-created', (_event, contents) => applyNavigationPolicy(contents, origin, (target) => void shell.openExternal(target)));
  registerIpc(ipcMain, {
    dashboardOrigin: origin,
    connection: () => ({ baseUrl: url, token: engine.token }),
    openExternal: (target) => shell.openExternal(target),
  });
}

/** The window's preferences, read once and kept current as the tray changes them. */
function desktopPreferences() {
  const file = join(app.getPath('userData'), 'preferences.json');
  let current = readPreferences(file);
  return {
    get: (): DesktopPreferences => current,
    async setCloseToTray(closeToTray: boolean) {
      current = { ...current, closeToTray };
      await writePreferences(file, current);
    },
  };
}

function appLoginItem() {
  const item = createLoginItem({
    platform: process.platform,
    app,
    command: launchCommand({ execPath: process.execPath, appPath: app.getAppPath(), isPackaged: app.isPackaged, env: process.env }),
    env: process.env,
  });
  const enabled = () => {
    try {
      return item.isEnabled();
    } catch {
      return false;
    }
  };
  return { item, enabled };
}

/** The tray, its menu's actions bound to the engine's Control, Electron's dialogs and the clipboard. */
function createAppTray(
  engine: Engine,
  url: string,
  status: StatusResponse,
  preferences: ReturnType<typeof desktopPreferences>,
): { tray: Tray; controller: TrayController } {
  const loginItem = appLoginItem();
  const tray = new Tray(trayIcon('running'));
  const controller: TrayController = createTrayController(
    {
      tray,
      icon: trayIcon,
      buildMenu: (template) => Menu.buildFromTemplate(template),
      settings: () => ({
        loginItem: { supported: loginItem.item.supported, enabled: loginItem.enabled() },
        closeToTray: preferences.get().closeToTray,
        ...(engine.config.fixedByEnv.upstreamEnabled ? { offlineFixedBy: engine.config.fixedByEnv.upstreamEnabled } : {}),
      }),
      actions: trayActions({
        mirrorUrl: url,
        control: engine.control,
        openDashboard,
        clipboard,
        notify,
        prewarm: {
          chooseFile: () => chooseLockFile(dialog),
          readFile: (path) => readFile(path, 'utf8'),
          started: (job) => notify('Pre-warm started', job.source),
        },
        loginItem: loginItem.item,
        setCloseToTray: (closeToTray) => preferences.setCloseToTray(closeToTray),
        refresh: () => controller.refresh(),
        quit: () => app.quit(),
        prompts: dialogPrompts(dialog),
      }),
    },
    snapshotOf(status),
  );
  // Windows (and some Linux panels) report a click on the icon itself: open the window.
  tray.on('click', openDashboard);
  return { tray, controller };
}

/** The tray and the notifications follow the engine's events for the app's whole life. */
function followEngine(engine: Engine, status: StatusResponse, tray: TrayController): void {
  const notifier = createNotifier(({ title, body }) => notify(title, body), status.upstream.reachable);
  void engine.control.events((event) => {
    tray.handle(event);
    notifier.handle(event);
  }, new AbortController().signal);
}

async function run(): Promise<void> {
  const started = await startMirror();
  if (!started) return;
  const { engine, url } = started;
  const dashboardUrl = `${url}/`;
  secureWebContents(engine, url);
  const appMenu = applicationMenuTemplate(process.platform);
  Menu.setApplicationMenu(appMenu ? Menu.buildFromTemplate(appMenu) : null);
  const preferences = desktopPreferences();
  const status = await engine.control.status();
  const tray = createAppTray(engine, url, status, preferences);
  followEngine(engine, status, tray.controller);

  // The window, last: everything it may ask for is in place.
  mainWindow = openMainWindow({
    create: (options) => new BrowserWindow(options),
    // Signed in through a one-time link like a browser: the page carries no token, and the
    // session cookie lets a reload of the window find the dashboard again.
    url: (await engine.control.loginLink()).url,
    preload: PRELOAD,
    icon: join(ICONS, '256x256.png'),
    startHidden: startedHidden(process.argv, process.platform, app) && !showOnceReady,
    closeState: () => ({ quitting, closeToTray: preferences.get().closeToTray, hasTray: !tray.tray.isDestroyed() }),
    onLoadError: (error) => engine.log.error({ error: error.message, url: dashboardUrl }, 'the dashboard did not load'),
  });
  app.on('activate', openDashboard); // macOS: a click on the Dock icon

  exposeTestHooks(process.env, globalThis, {
    dashboardUrl,
    trayState: () => tray.controller.state(),
    trayMenu: () => tray.controller.menu(),
    windowVisible: () => mainWindow?.isVisible() ?? false,
  });
}
