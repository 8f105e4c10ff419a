// The tray menu as data: a pure function from what the tray knows to Electron's menu
// template, with each item's click bound to an action passed in. Tests and the e2e test hook
// read the same model the tray shows.
import type { MenuItemConstructorOptions } from 'electron';
import { statusLine, type TraySnapshot } from './tray-state.js';

export interface TrayMenuModel {
  snapshot: TraySnapshot;
  /** Set when UPSTREAM_ENABLED fixes offline mode: the toggle cannot change it. */
  offlineFixedBy?: string;
  loginItem: { supported: boolean; enabled: boolean };
  closeToTray: boolean;
}

export interface TrayMenuActions {
  openDashboard(): void;
  copyExport(): void;
  setUpMirror(): void;
  prewarmFromLockFile(): void;
  setOffline(offline: boolean): void;
  setOpenAtLogin(enabled: boolean): void;
  setCloseToTray(enabled: boolean): void;
  quit(): void;
}

export function trayMenuTemplate(model: TrayMenuModel, actions: TrayMenuActions): MenuItemConstructorOptions[] {
  const offline = model.snapshot.offline;
  const separator: MenuItemConstructorOptions = { type: 'separator' };
  return [
    // A disabled item is the only way to show text in a tray menu on every platform.
    { id: 'status', label: statusLine(model.snapshot), enabled: false },
    separator,
    { id: 'open-dashboard', label: 'Open dashboard', click: () => actions.openDashboard() },
    { id: 'copy-export', label: 'Copy HEX_MIRROR export', click: () => actions.copyExport() },
    { id: 'set-up-mirror', label: 'Set up HEX_MIRROR for mix/rebar3/shells…', click: () => actions.setUpMirror() },
    // Pre-warming needs the upstream; offline it could only report every package as failed.
    { id: 'prewarm', label: 'Pre-warm from lock file…', enabled: !offline, click: () => actions.prewarmFromLockFile() },
    separator,
    {
      id: 'toggle-offline',
      label: `${offline ? 'Go online' : 'Go offline'}${model.offlineFixedBy ? ` (fixed by ${model.offlineFixedBy})` : ''}`,
      enabled: !model.offlineFixedBy,
      click: () => actions.setOffline(!offline),
    },
    {
      id: 'open-at-login',
      label: 'Start at login',
      type: 'checkbox',
      checked: model.loginItem.enabled,
      enabled: model.loginItem.supported,
      click: () => actions.setOpenAtLogin(!model.loginItem.enabled),
    },
    {
      id: 'close-to-tray',
      label: 'Keep running in the tray when the window closes',
      type: 'checkbox',
      checked: model.closeToTray,
      click: () => actions.setCloseToTray(!model.closeToTray),
    },
    separator,
    { id: 'quit', label: 'Quit HexHub', click: () => actions.quit() },
  ];
}

/** A plain, serialisable view of a template (for tests and the e2e hook). */
export interface MenuItemView {
  id?: string;
  type: string;
  label?: string;
  enabled: boolean;
  checked?: boolean;
}

export function describeMenu(template: readonly MenuItemConstructorOptions[]): MenuItemView[] {
  return template.map((item) => ({
    ...(item.id ? { id: item.id } : {}),
    type: item.type ?? 'normal',
    ...(item.label !== undefined ? { label: item.label } : {}),
    enabled: item.enabled ?? true,
    ...(item.type === 'checkbox' ? { checked: item.checked ?? false } : {}),
  }));
}

/** The tooltip: the product name and the status line. */
export function trayTooltip(snapshot: TraySnapshot): string {
  return `HexHub — ${statusLine(snapshot)}`;
}
