// The dashboard window. Its renderer gets the locked-down settings of the Electron security
// checklist: context isolation, the Chromium sandbox, no Node.js, web security on, and a
// preload that exposes only the IPC contract. The page itself is served by the engine with a
// strict Content-Security-Policy (src-main/server/dashboard.ts), the same as in a browser.
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';

export function mainWindowOptions(paths: { preload: string; icon?: string }): BrowserWindowConstructorOptions {
  return {
    title: 'HexHub',
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    // Shown on ready-to-show, so the user never sees an empty white frame.
    show: false,
    ...(paths.icon ? { icon: paths.icon } : {}),
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      // A file dropped on the window must not replace the dashboard with the file.
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  };
}

export interface CloseState {
  /** The app is quitting (Quit in the tray, the OS logging out): windows must really close. */
  quitting: boolean;
  /** The user's preference. */
  closeToTray: boolean;
  /** Without a tray there would be no way back to a hidden window but launching again. */
  hasTray: boolean;
}

export function closeDecision(state: CloseState): 'hide' | 'close' {
  if (state.quitting) return 'close';
  return state.closeToTray && state.hasTray ? 'hide' : 'close';
}

type ShowableWindow = Pick<BrowserWindow, 'isMinimized' | 'restore' | 'show' | 'focus'>;

/** Brings the window to the front, from minimised or hidden. */
export function showWindow(window: ShowableWindow): void {
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

type MainWindow = ShowableWindow & Pick<BrowserWindow, 'on' | 'once' | 'hide' | 'loadURL'>;

export interface MainWindowDeps<W extends MainWindow> {
  create(options: BrowserWindowConstructorOptions): W;
  /** The dashboard's URL on the engine. */
  url: string;
  preload: string;
  icon?: string;
  /** Started at login: stay in the tray until asked. */
  startHidden: boolean;
  closeState(): CloseState;
  onLoadError(error: Error): void;
}

export function openMainWindow<W extends MainWindow>(deps: MainWindowDeps<W>): W {
  const window = deps.create(mainWindowOptions({ preload: deps.preload, ...(deps.icon ? { icon: deps.icon } : {}) }));
  window.on('close', (event) => {
    if (closeDecision(deps.closeState()) !== 'hide') return;
    event.preventDefault();
    window.hide();
  });
  if (!deps.startHidden) window.once('ready-to-show', () => window.show());
  window.loadURL(deps.url).catch((error: Error) => deps.onLoadError(error));
  return window;
}
