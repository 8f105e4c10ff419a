// A read-only window into the running app for the Playwright end-to-end tests: a tray menu
// cannot be opened or read by automation on any platform, so the tests read the same model
// the tray shows. Exposed only when HEXHUB_TEST_HOOKS=1 is in the environment.
import type { MenuItemView } from './tray-menu.js';
import type { TrayState } from './tray-state.js';

export const TEST_HOOKS_KEY = '__hexhubTestHooks';

export interface DesktopTestHooks {
  dashboardUrl: string;
  trayState(): TrayState;
  trayMenu(): MenuItemView[];
  windowVisible(): boolean;
}

export function exposeTestHooks(env: Record<string, string | undefined>, target: object, hooks: DesktopTestHooks): boolean {
  if (env.HEXHUB_TEST_HOOKS !== '1') return false;
  Object.defineProperty(target, TEST_HOOKS_KEY, { value: Object.freeze({ ...hooks }), configurable: true });
  return true;
}
