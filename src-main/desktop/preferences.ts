// The desktop app's own preferences (how the window behaves), kept apart from the engine's
// settings: they mean nothing to the headless mirror. Stored as JSON in Electron's userData
// folder; a missing or damaged file gives the defaults rather than stopping the app.
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DesktopPreferences {
  /** Closing the window hides it to the tray (the mirror keeps serving) instead of quitting. */
  closeToTray: boolean;
}

export const DEFAULT_PREFERENCES: DesktopPreferences = { closeToTray: true };

export function readPreferences(path: string): DesktopPreferences {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return { ...DEFAULT_PREFERENCES };
  }
  const saved = data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  return {
    closeToTray: typeof saved.closeToTray === 'boolean' ? saved.closeToTray : DEFAULT_PREFERENCES.closeToTray,
  };
}

export async function writePreferences(path: string, preferences: DesktopPreferences): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // Through a temporary file, so a crash mid-write leaves the old preferences, not half a file.
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(preferences, null, 2)}\n`);
  await rename(temp, path);
}
