// Keeps the tray's icon, tooltip and menu in step with the engine. Events arrive often (a
// download reports progress several times a second), so the menu is rebuilt only when what
// it shows changes: some tray hosts (Linux app indicators) flicker or reopen on every update.
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import type { ServerEvent } from '../../src-shared/contract.js';
import { describeMenu, trayMenuTemplate, trayTooltip, type MenuItemView, type TrayMenuActions, type TrayMenuModel } from './tray-menu.js';
import { applyEvent, trayState, type TraySnapshot, type TrayState } from './tray-state.js';

export interface TrayControllerDeps {
  tray: Pick<Tray, 'setImage' | 'setToolTip' | 'setContextMenu'>;
  icon(state: TrayState): NativeImage | string;
  buildMenu(template: MenuItemConstructorOptions[]): Menu;
  /** The parts of the model that are not engine state (read each time the menu is built). */
  settings(): Omit<TrayMenuModel, 'snapshot'>;
  actions: TrayMenuActions;
}

export interface TrayController {
  /** Folds in an engine event; redraws if the tray's view changed. */
  handle(event: ServerEvent): void;
  /** Redraws after a setting changed (login item, close-to-tray, offline). */
  refresh(): void;
  state(): TrayState;
  snapshot(): TraySnapshot;
  /** The menu as shown now, as plain data. */
  menu(): MenuItemView[];
}

export function createTrayController(deps: TrayControllerDeps, initial: TraySnapshot): TrayController {
  let snapshot = initial;
  let shownState: TrayState | undefined;
  let shownMenu = '';
  let template: MenuItemConstructorOptions[] = [];

  const render = () => {
    const next = trayMenuTemplate({ snapshot, ...deps.settings() }, deps.actions);
    const view = JSON.stringify(describeMenu(next));
    const state = trayState(snapshot);
    if (state !== shownState) {
      deps.tray.setImage(deps.icon(state));
      shownState = state;
    }
    if (view === shownMenu) return;
    template = next;
    shownMenu = view;
    deps.tray.setToolTip(trayTooltip(snapshot));
    deps.tray.setContextMenu(deps.buildMenu(template));
  };
  render();

  return {
    handle(event) {
      const next = applyEvent(snapshot, event);
      if (next === snapshot) return;
      snapshot = next;
      render();
    },
    refresh: render,
    state: () => trayState(snapshot),
    snapshot: () => snapshot,
    menu: () => describeMenu(template),
  };
}
