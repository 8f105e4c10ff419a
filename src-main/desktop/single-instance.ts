// One HexHub per user session: a second one would find the data dir locked (or the port
// taken) and fail. Instead the second launch quits at once and the first shows its window,
// which is what the user meant by launching it again — also the way back to a window that
// was closed to a tray the desktop does not show.
import type { App } from 'electron';

/**
 * Claims the single-instance lock. Returns false when another instance holds it: this one has
 * been told to quit and must do nothing more. Otherwise `onSecondInstance` runs whenever
 * another launch is attempted.
 */
export function claimSingleInstance(app: Pick<App, 'requestSingleInstanceLock' | 'quit' | 'on'>, onSecondInstance: () => void): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', () => onSecondInstance());
  return true;
}
