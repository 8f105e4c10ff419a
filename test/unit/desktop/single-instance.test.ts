// Single instance: the second launch quits and the first shows its window. Electron's `app`
// and BrowserWindow are replaced by fakes (electron-fakes.ts); the modules are real.
import type { App } from 'electron';
import { describe, expect, it } from 'vitest';
import { showWindow } from '../../../src-main/desktop/main-window.js';
import { claimSingleInstance } from '../../../src-main/desktop/single-instance.js';
import { asElectron, FakeApp, FakeWindow } from './electron-fakes.js';

type SingleInstanceApp = Pick<App, 'requestSingleInstanceLock' | 'quit' | 'on'>;

describe('claimSingleInstance', () => {
  it('the first instance keeps running and a second launch focuses its window', () => {
    const app = new FakeApp();
    const window = new FakeWindow();
    window.minimized = true;
    expect(claimSingleInstance(asElectron<SingleInstanceApp>(app), () => showWindow(window))).toBe(true);
    expect(app.quits).toBe(0);
    expect(window.visible).toBe(false);

    app.emit('second-instance', {}, ['/opt/HexHub/hexhub-desktop'], '/home/me', {});
    expect(window.minimized).toBe(false);
    expect(window.visible).toBe(true);
    expect(window.focused).toBe(1);
    expect(app.quits).toBe(0);
  });

  it('an instance that is not the primary one quits and sets nothing up', () => {
    const app = new FakeApp();
    app.hasLock = false;
    let shown = 0;
    expect(claimSingleInstance(asElectron<SingleInstanceApp>(app), () => shown++)).toBe(false);
    expect(app.quits).toBe(1);
    expect(app.count('second-instance')).toBe(0);
    expect(shown).toBe(0);
  });

  it('a second launch before the window exists is remembered by the callback', () => {
    const app = new FakeApp();
    let window: FakeWindow | undefined;
    let showOnceReady = false;
    claimSingleInstance(asElectron<SingleInstanceApp>(app), () => (window ? showWindow(window) : (showOnceReady = true)));
    app.emit('second-instance');
    expect(showOnceReady).toBe(true);
    window = new FakeWindow();
    app.emit('second-instance');
    expect(window.visible).toBe(true);
  });
});
