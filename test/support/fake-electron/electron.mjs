// A stand-in for the `electron` module, enough for src-main/desktop/main.ts to start up:
// each object records what the main process asked of it. When the window loads its URL, a
// report goes to $FAKE_ELECTRON_REPORT for the test to read.
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const record = { windows: [], trays: [], ipc: [], menus: 0, permissionHandlers: 0, errors: [], quitEvents: [] };
function report(extra = {}) {
  if (process.env.FAKE_ELECTRON_REPORT) writeFileSync(process.env.FAKE_ELECTRON_REPORT, JSON.stringify({ ...record, ...extra }, null, 2));
}

class App extends EventEmitter {
  paths = new Map();
  isPackaged = false;
  setPath(name, path) {
    this.paths.set(name, path);
  }
  getPath(name) {
    return this.paths.get(name) ?? join(process.env.FAKE_ELECTRON_HOME ?? tmpdir(), name);
  }
  getAppPath() {
    return process.cwd();
  }
  enableSandbox() {
    record.sandboxEnabled = true;
  }
  requestSingleInstanceLock() {
    return true;
  }
  whenReady() {
    return Promise.resolve();
  }
  getLoginItemSettings() {
    return { openAtLogin: false, wasOpenedAtLogin: false };
  }
  setLoginItemSettings() {}
  quit() {
    record.quitEvents.push('quit');
    const event = {
      defaultPrevented: false,
      preventDefault() {
        this.defaultPrevented = true;
      },
    };
    this.emit('before-quit', event);
    this.emit('will-quit', event);
    if (!event.defaultPrevented) this.exit(0);
  }
  exit(code = 0) {
    report({ exitCode: code });
    process.exit(code);
  }
}
export const app = new App();

class WebContents extends EventEmitter {
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
}

export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new WebContents();
    this.visible = false;
    app.emit('web-contents-created', {}, this.webContents);
    record.windows.push({ options, navigationPolicy: this.webContents.listenerCount('will-navigate') > 0 });
  }
  // Like Chromium: keeps the cookie a page sets and follows its meta refresh (the sign-in link).
  async loadURL(url) {
    const first = await fetch(url);
    const cookie = first.headers.get('set-cookie')?.split(';')[0];
    const refresh = /http-equiv="refresh" content="0;url=([^"]+)"/.exec(await first.text())?.[1];
    const target = refresh ? new URL(refresh, url).href : url;
    const response = await fetch(target, { headers: cookie ? { cookie } : {} });
    const html = await response.text();
    record.windows.at(-1).loaded = {
      requested: url,
      url: target,
      status: response.status,
      hasTokenMeta: html.includes('name="hexhub-token"'),
      dashboard: html.includes('id="root"'),
      csp: response.headers.get('content-security-policy'),
    };
    record.windows.at(-1).windowOpenHandler = typeof this.webContents.windowOpenHandler;
    setTimeout(() => report({ ready: true }), 50);
  }
  show() {
    this.visible = true;
  }
  hide() {
    this.visible = false;
  }
  focus() {}
  isVisible() {
    return this.visible;
  }
  isMinimized() {
    return false;
  }
  restore() {}
  isDestroyed() {
    return false;
  }
}

export class Tray extends EventEmitter {
  constructor(image) {
    super();
    this.entry = { image: image.path, menu: [], tooltip: '' };
    record.trays.push(this.entry);
  }
  setImage(image) {
    this.entry.image = image.path ?? image;
  }
  setToolTip(text) {
    this.entry.tooltip = text;
  }
  setContextMenu(menu) {
    this.entry.menu = menu.template.map((item) => item.label ?? item.type);
  }
  isDestroyed() {
    return false;
  }
}

export const Menu = {
  buildFromTemplate: (template) => ({ template }),
  setApplicationMenu: () => {
    record.menus++;
  },
};
export const nativeImage = { createFromPath: (path) => ({ path, isEmpty: () => false }) };
export class Notification {
  static isSupported() {
    return false;
  }
  show() {}
}
export const ipcMain = {
  on: (channel) => record.ipc.push({ channel, kind: 'on' }),
  handle: (channel) => record.ipc.push({ channel, kind: 'handle' }),
  removeHandler: () => {},
};
export const session = {
  defaultSession: {
    setPermissionRequestHandler: () => {
      record.permissionHandlers++;
    },
    setPermissionCheckHandler: () => {
      record.permissionHandlers++;
    },
  },
};
export const clipboard = { writeText: () => {} };
export const shell = { openExternal: async () => {} };
export const dialog = {
  showMessageBox: async () => ({ response: 0 }),
  showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
  showErrorBox: (title, detail) => record.errors.push(`${title}: ${detail}`),
};
export default { app, BrowserWindow, Tray, Menu, nativeImage, Notification, ipcMain, session, clipboard, shell, dialog };
