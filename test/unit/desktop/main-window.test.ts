// The dashboard window: its security settings, what closing does, how it is shown. Electron's
// BrowserWindow is replaced by a fake (electron-fakes.ts); the module is real.
import type { BrowserWindow } from 'electron';
import { describe, expect, it } from 'vitest';
import { closeDecision, mainWindowOptions, openMainWindow, showWindow, type CloseState } from '../../../src-main/desktop/main-window.js';
import { asElectron, FakeWindow, fakeEvent } from './electron-fakes.js';

describe('mainWindowOptions', () => {
  it('locks the renderer down as the Electron security checklist asks', () => {
    const options = mainWindowOptions({ preload: '/app/dist/src-main/desktop/preload.cjs', icon: '/app/build/icons/256x256.png' });
    expect(options.webPreferences).toMatchObject({
      preload: '/app/dist/src-main/desktop/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(options.show).toBe(false);
    expect(options.icon).toBe('/app/build/icons/256x256.png');
  });
});

describe('closeDecision', () => {
  const state = (overrides: Partial<CloseState>): CloseState => ({ quitting: false, closeToTray: true, hasTray: true, ...overrides });

  it('hides to the tray when the preference is on (the default)', () => {
    expect(closeDecision(state({}))).toBe('hide');
  });

  it('closes (and so quits) when the preference is off', () => {
    expect(closeDecision(state({ closeToTray: false }))).toBe('close');
  });

  it('closes when the app is quitting, whatever the preference', () => {
    expect(closeDecision(state({ quitting: true }))).toBe('close');
  });

  it('closes when there is no tray to come back from', () => {
    expect(closeDecision(state({ hasTray: false }))).toBe('close');
  });
});

describe('openMainWindow', () => {
  function open(overrides: { startHidden?: boolean; closeToTray?: boolean; quitting?: boolean; loadError?: Error } = {}) {
    let window!: FakeWindow;
    const loadErrors: Error[] = [];
    const close = { quitting: overrides.quitting ?? false, closeToTray: overrides.closeToTray ?? true, hasTray: true };
    openMainWindow({
      create: (options) => {
        window = new FakeWindow(options);
        window.loadError = overrides.loadError;
        return asElectron<BrowserWindow>(window);
      },
      url: 'http://127.0.0.1:4000/',
      preload: '/app/preload.cjs',
      startHidden: overrides.startHidden ?? false,
      closeState: () => close,
      onLoadError: (error) => loadErrors.push(error),
    });
    return { window, close, loadErrors };
  }

  it('loads the dashboard with the secure options and shows it when ready', () => {
    const { window } = open();
    expect(window.loaded).toEqual(['http://127.0.0.1:4000/']);
    expect(window.options.webPreferences?.sandbox).toBe(true);
    expect(window.options.webPreferences?.preload).toBe('/app/preload.cjs');
    expect(window.visible).toBe(false);
    window.emit('ready-to-show');
    expect(window.visible).toBe(true);
  });

  it('stays hidden when started at login', () => {
    const { window } = open({ startHidden: true });
    window.emit('ready-to-show');
    expect(window.visible).toBe(false);
  });

  it('closing hides to the tray; with the preference off, or when quitting, it really closes', () => {
    const { window, close } = open();
    window.show();
    const hide = fakeEvent();
    window.emit('close', hide);
    expect(hide.defaultPrevented).toBe(true);
    expect(window.visible).toBe(false);

    close.closeToTray = false;
    const really = fakeEvent();
    window.emit('close', really);
    expect(really.defaultPrevented).toBe(false);

    close.closeToTray = true;
    close.quitting = true;
    const quitting = fakeEvent();
    window.emit('close', quitting);
    expect(quitting.defaultPrevented).toBe(false);
  });

  it('reports a dashboard that does not load', async () => {
    const { loadErrors } = open({ loadError: new Error('ERR_CONNECTION_REFUSED') });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(loadErrors.map((e) => e.message)).toEqual(['ERR_CONNECTION_REFUSED']);
  });
});

describe('showWindow', () => {
  it('brings a minimised or hidden window to the front', () => {
    const window = new FakeWindow();
    window.minimized = true;
    showWindow(window);
    expect(window).toMatchObject({ minimized: false, visible: true, focused: 1 });
  });
});
