// The tray controller: icon, tooltip and menu follow the engine's events, redrawn only when
// what they show changes. Electron's Tray and Menu are replaced by fakes (electron-fakes.ts).
import type { Menu, MenuItemConstructorOptions, Tray } from 'electron';
import { describe, expect, it } from 'vitest';
import { exposeTestHooks, TEST_HOOKS_KEY } from '../../../src-main/desktop/test-hooks.js';
import { createTrayController } from '../../../src-main/desktop/tray.js';
import type { TrayMenuActions } from '../../../src-main/desktop/tray-menu.js';
import { snapshotOf } from '../../../src-main/desktop/tray-state.js';
import { healthEvent, jobEvent, settingsEvent, status, transferEnded, transferStarted } from './engine-states.js';
import { asElectron, FakeTray } from './electron-fakes.js';

const noop: TrayMenuActions = {
  openDashboard() {},
  copyExport() {},
  setUpMirror() {},
  prewarmFromLockFile() {},
  setOffline() {},
  setOpenAtLogin() {},
  setCloseToTray() {},
  quit() {},
};

function setup() {
  const tray = new FakeTray();
  const settings = { loginItem: { supported: true, enabled: false }, closeToTray: true };
  const controller = createTrayController(
    {
      tray: asElectron<Pick<Tray, 'setImage' | 'setToolTip' | 'setContextMenu'>>(tray),
      icon: (state) => `/icons/tray/${state}.png`,
      // Menu.buildFromTemplate stand-in: the template itself.
      buildMenu: (template: MenuItemConstructorOptions[]) => asElectron<Menu>(template),
      settings: () => settings,
      actions: noop,
    },
    snapshotOf(status({ reachable: true })),
  );
  return { tray, controller, settings };
}

describe('tray controller', () => {
  it('draws the initial state', () => {
    const { tray, controller } = setup();
    expect(tray.images).toEqual(['/icons/tray/running.png']);
    expect(tray.tooltips).toEqual(['HexHub — Running at http://127.0.0.1:4000']);
    expect(tray.menus).toHaveLength(1);
    expect(controller.state()).toBe('running');
  });

  it('changes the icon with each engine state', () => {
    const { tray, controller } = setup();
    controller.handle(transferStarted('1'));
    controller.handle(transferEnded('1'));
    controller.handle(healthEvent({ reachable: false, lastError: 'ECONNRESET' }));
    controller.handle(settingsEvent(false));
    expect(tray.images).toEqual([
      '/icons/tray/running.png',
      '/icons/tray/busy.png',
      '/icons/tray/running.png',
      '/icons/tray/upstream-error.png',
      '/icons/tray/offline.png',
    ]);
    expect(controller.menu()[0]?.label).toBe('Offline: serving from the cache');
  });

  it('does not redraw for progress or cache events that change nothing it shows', () => {
    const { tray, controller } = setup();
    controller.handle(transferStarted('1'));
    const menus = tray.menus.length;
    for (let i = 0; i < 20; i++) controller.handle(transferStarted('1'));
    controller.handle({ type: 'cache', change: 'stored', key: 'tarballs/jason-1.4.1.tar' });
    expect(tray.menus).toHaveLength(menus);
    expect(tray.images).toHaveLength(2);
  });

  it('redraws the menu on refresh after a preference changed', () => {
    const { tray, controller, settings } = setup();
    settings.loginItem = { supported: true, enabled: true };
    controller.refresh();
    expect(tray.menus).toHaveLength(2);
    expect(controller.menu().find((i) => i.id === 'open-at-login')?.checked).toBe(true);
    controller.refresh();
    expect(tray.menus).toHaveLength(2);
  });

  it('shows busy for a pre-warm job and back to running when it is done', () => {
    const { controller } = setup();
    controller.handle(jobEvent('j1', 'running'));
    expect(controller.state()).toBe('busy');
    expect(controller.menu()[0]?.label).toBe('Busy: 1 pre-warm job');
    controller.handle(jobEvent('j1', 'done'));
    expect(controller.state()).toBe('running');
  });

  it('is readable by the e2e tests through the test hook, only when asked for', () => {
    const { controller } = setup();
    const target: Record<string, unknown> = {};
    const hooks = { dashboardUrl: 'http://127.0.0.1:4000/', trayState: () => controller.state(), trayMenu: () => controller.menu(), windowVisible: () => true };
    expect(exposeTestHooks({}, target, hooks)).toBe(false);
    expect(TEST_HOOKS_KEY in target).toBe(false);
    expect(exposeTestHooks({ HEXHUB_TEST_HOOKS: '1' }, target, hooks)).toBe(true);
    expect((target[TEST_HOOKS_KEY] as typeof hooks).trayMenu().map((i) => i.label)).toContain('Open dashboard');
  });
});
