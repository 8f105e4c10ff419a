// The application menu. On macOS a menu bar always exists, and copy and paste in the
// dashboard's text fields only work through an Edit menu, so it gets the standard roles. On
// Windows and Linux the dashboard has its own navigation and text fields handle the
// shortcuts natively, so the window has no menu bar (null).
import type { MenuItemConstructorOptions } from 'electron';

export function applicationMenuTemplate(platform: NodeJS.Platform): MenuItemConstructorOptions[] | null {
  if (platform !== 'darwin') return null;
  return [{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'viewMenu' }, { role: 'windowMenu' }];
}
