// Stand-ins for Electron's own objects (app, BrowserWindow, WebContents, Session, Tray,
// ipcMain), which only exist inside an Electron process. The desktop modules take these
// objects as parameters, so the tests replace ONLY them: the modules under test, the engine,
// the file system and the network are real. Each fake records what was done to it. Only
// Electron's types are imported (they compile away): the electron module is never loaded.
import type { BrowserWindowConstructorOptions, LoginItemSettings, Settings } from 'electron';

type Listener = (...args: any[]) => unknown;

export class FakeEmitter {
  readonly listeners = new Map<string, Listener[]>();

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  once(event: string, listener: Listener): this {
    const wrapped: Listener = (...args) => {
      this.listeners.set(
        event,
        (this.listeners.get(event) ?? []).filter((l) => l !== wrapped),
      );
      return listener(...args);
    };
    return this.on(event, wrapped);
  }

  emit(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }

  count(event: string): number {
    return this.listeners.get(event)?.length ?? 0;
  }
}

/** An Electron event: preventDefault() and whatever fields the event carries. */
export function fakeEvent<T extends object>(fields: T = {} as T): T & { preventDefault(): void; defaultPrevented: boolean } {
  const event = {
    ...fields,
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event;
}

export class FakeApp extends FakeEmitter {
  hasLock = true;
  quits = 0;
  exits: (number | undefined)[] = [];
  openAtLogin = false;
  wasOpenedAtLogin = false;
  readonly loginQueries: unknown[] = [];
  readonly loginSettings: Record<string, unknown>[] = [];

  requestSingleInstanceLock(): boolean {
    return this.hasLock;
  }

  quit(): void {
    this.quits++;
  }

  exit(code?: number): void {
    this.exits.push(code);
  }

  getLoginItemSettings(options?: unknown) {
    this.loginQueries.push(options);
    return { openAtLogin: this.openAtLogin, wasOpenedAtLogin: this.wasOpenedAtLogin } as LoginItemSettings;
  }

  setLoginItemSettings(settings: Settings): void {
    this.loginSettings.push({ ...settings });
    this.openAtLogin = settings.openAtLogin ?? false;
  }
}

export class FakeWindow extends FakeEmitter {
  visible = false;
  minimized = false;
  focused = 0;
  readonly loaded: string[] = [];
  loadError: Error | undefined;

  constructor(readonly options: BrowserWindowConstructorOptions = {}) {
    super();
  }

  show(): void {
    this.visible = true;
  }

  hide(): void {
    this.visible = false;
  }

  focus(): void {
    this.focused++;
  }

  restore(): void {
    this.minimized = false;
  }

  isMinimized(): boolean {
    return this.minimized;
  }

  isVisible(): boolean {
    return this.visible;
  }

  loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    return this.loadError ? Promise.reject(this.loadError) : Promise.resolve();
  }
}

export class FakeWebContents extends FakeEmitter {
  openHandler: ((details: { url: string }) => { action: string }) | undefined;

  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.openHandler = handler;
  }
}

export class FakeSession {
  requestHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl: string }) => void) | undefined;
  checkHandler: ((contents: unknown, permission: string, requestingOrigin: string) => boolean) | undefined;

  setPermissionRequestHandler(handler: FakeSession['requestHandler']): void {
    this.requestHandler = handler;
  }

  setPermissionCheckHandler(handler: FakeSession['checkHandler']): void {
    this.checkHandler = handler;
  }

  /** What a page asking for `permission` from `url` would be told. */
  request(permission: string, url: string): boolean {
    let granted: boolean | undefined;
    this.requestHandler!({}, permission, (g) => (granted = g), { requestingUrl: url });
    if (granted === undefined) throw new Error('the permission request was never answered');
    return granted;
  }
}

/** ipcMain, plus the renderer's two ways of calling it, from a frame at a given URL. */
export class FakeIpcMain extends FakeEmitter {
  readonly handlers = new Map<string, Listener>();

  handle(channel: string, handler: Listener): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, handler);
  }

  sendSync(channel: string, frameUrl: string | null, ...args: unknown[]): unknown {
    const event: { senderFrame: { url: string } | null; returnValue: unknown } = {
      senderFrame: frameUrl === null ? null : { url: frameUrl },
      returnValue: undefined,
    };
    this.emit(channel, event, ...args);
    return event.returnValue;
  }

  async invoke(channel: string, frameUrl: string | null, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler({ senderFrame: frameUrl === null ? null : { url: frameUrl } }, ...args);
  }
}

export class FakeTray {
  readonly images: unknown[] = [];
  readonly tooltips: string[] = [];
  readonly menus: unknown[] = [];

  setImage(image: unknown): void {
    this.images.push(image);
  }

  setToolTip(text: string): void {
    this.tooltips.push(text);
  }

  setContextMenu(menu: unknown): void {
    this.menus.push(menu);
  }
}

/** Hands a fake to a module typed against Electron's interfaces (which it implements in part). */
export function asElectron<T>(fake: unknown): T {
  return fake as T;
}
