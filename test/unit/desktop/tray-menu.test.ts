// The tray menu model for each engine state, and what its items do. Pure: no Electron at all.
import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it } from 'vitest';
import { describeMenu, trayMenuTemplate, trayTooltip, type TrayMenuActions, type TrayMenuModel } from '../../../src-main/desktop/tray-menu.js';
import { snapshotOf, type TraySnapshot } from '../../../src-main/desktop/tray-state.js';
import { status } from './engine-states.js';

function recorder() {
  const calls: string[] = [];
  const actions: TrayMenuActions = {
    openDashboard: () => calls.push('openDashboard'),
    copyExport: () => calls.push('copyExport'),
    setUpMirror: () => calls.push('setUpMirror'),
    prewarmFromLockFile: () => calls.push('prewarmFromLockFile'),
    setOffline: (offline) => calls.push(`setOffline(${offline})`),
    setOpenAtLogin: (enabled) => calls.push(`setOpenAtLogin(${enabled})`),
    setCloseToTray: (enabled) => calls.push(`setCloseToTray(${enabled})`),
    quit: () => calls.push('quit'),
  };
  return { calls, actions };
}

function model(snapshot: TraySnapshot, overrides: Partial<TrayMenuModel> = {}): TrayMenuModel {
  return { snapshot, loginItem: { supported: true, enabled: false }, closeToTray: true, ...overrides };
}

function item(template: MenuItemConstructorOptions[], id: string): MenuItemConstructorOptions {
  const found = template.find((i) => i.id === id);
  if (!found) throw new Error(`no item ${id}`);
  return found;
}

const click = (i: MenuItemConstructorOptions) => (i.click as () => void)();

const STATES = {
  running: snapshotOf(status({ reachable: true })),
  offline: snapshotOf(status({ offline: true })),
  'upstream-error': snapshotOf(status({ reachable: false, lastError: 'ETIMEDOUT' })),
  busy: snapshotOf(status({ transfers: 3 })),
};

describe('tray menu', () => {
  it.each(Object.entries(STATES))('has the same items in the same order when %s', (_state, snapshot) => {
    const { actions } = recorder();
    const ids = trayMenuTemplate(model(snapshot), actions).map((i) => i.id ?? i.type);
    expect(ids).toEqual([
      'status',
      'separator',
      'open-dashboard',
      'copy-export',
      'set-up-mirror',
      'prewarm',
      'separator',
      'toggle-offline',
      'open-at-login',
      'close-to-tray',
      'separator',
      'quit',
    ]);
  });

  it('starts with a disabled status line for each state', () => {
    const { actions } = recorder();
    const line = (snapshot: TraySnapshot) => item(trayMenuTemplate(model(snapshot), actions), 'status');
    expect(line(STATES.running)).toMatchObject({ label: 'Running at http://127.0.0.1:4000', enabled: false });
    expect(line(STATES.offline)).toMatchObject({ label: 'Offline: serving from the cache', enabled: false });
    expect(line(STATES['upstream-error'])).toMatchObject({ label: 'Upstream unreachable: ETIMEDOUT', enabled: false });
    expect(line(STATES.busy)).toMatchObject({ label: 'Busy: 3 downloads', enabled: false });
    expect(trayTooltip(STATES.busy)).toBe('HexHub — Busy: 3 downloads');
  });

  it('offers "Go offline" when online and "Go online" when offline', () => {
    const { calls, actions } = recorder();
    const online = item(trayMenuTemplate(model(STATES.running), actions), 'toggle-offline');
    expect(online).toMatchObject({ label: 'Go offline', enabled: true });
    click(online);
    const offline = item(trayMenuTemplate(model(STATES.offline), actions), 'toggle-offline');
    expect(offline).toMatchObject({ label: 'Go online', enabled: true });
    click(offline);
    expect(calls).toEqual(['setOffline(true)', 'setOffline(false)']);
  });

  it('disables the offline toggle when the environment fixes it', () => {
    const { actions } = recorder();
    const toggle = item(trayMenuTemplate(model(STATES.running, { offlineFixedBy: 'UPSTREAM_ENABLED' }), actions), 'toggle-offline');
    expect(toggle).toMatchObject({ label: 'Go offline (fixed by UPSTREAM_ENABLED)', enabled: false });
  });

  it('disables pre-warming while offline (it needs the upstream)', () => {
    const { actions } = recorder();
    expect(item(trayMenuTemplate(model(STATES.offline), actions), 'prewarm').enabled).toBe(false);
    expect(item(trayMenuTemplate(model(STATES.running), actions), 'prewarm').enabled).toBe(true);
  });

  it('shows the login item and close-to-tray as checkboxes that flip their value', () => {
    const { calls, actions } = recorder();
    const template = trayMenuTemplate(model(STATES.running, { loginItem: { supported: true, enabled: true }, closeToTray: false }), actions);
    expect(item(template, 'open-at-login')).toMatchObject({ type: 'checkbox', checked: true, enabled: true });
    expect(item(template, 'close-to-tray')).toMatchObject({ type: 'checkbox', checked: false });
    click(item(template, 'open-at-login'));
    click(item(template, 'close-to-tray'));
    expect(calls).toEqual(['setOpenAtLogin(false)', 'setCloseToTray(true)']);
    const unsupported = trayMenuTemplate(model(STATES.running, { loginItem: { supported: false, enabled: false } }), actions);
    expect(item(unsupported, 'open-at-login').enabled).toBe(false);
  });

  it('binds every other item to its action', () => {
    const { calls, actions } = recorder();
    const template = trayMenuTemplate(model(STATES.running), actions);
    for (const id of ['open-dashboard', 'copy-export', 'set-up-mirror', 'prewarm', 'quit']) click(item(template, id));
    expect(calls).toEqual(['openDashboard', 'copyExport', 'setUpMirror', 'prewarmFromLockFile', 'quit']);
  });

  it('describes itself as plain data (for the e2e hook)', () => {
    const { actions } = recorder();
    const view = describeMenu(trayMenuTemplate(model(STATES.running), actions));
    expect(view[0]).toEqual({ id: 'status', type: 'normal', label: 'Running at http://127.0.0.1:4000', enabled: false });
    expect(view.find((i) => i.id === 'open-at-login')).toEqual({
      id: 'open-at-login',
      type: 'checkbox',
      label: 'Start at login',
      enabled: true,
      checked: false,
    });
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });
});
