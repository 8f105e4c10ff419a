// "Start at login". macOS and Windows have Electron's login item API; on Linux that API does
// nothing, so the app writes the freedesktop.org autostart entry itself
// (~/.config/autostart/hexhub.desktop), which GNOME, KDE, Xfce and the rest honour.
// A login start passes --hidden: the mirror comes up in the tray without a window.
import type { App } from 'electron';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const HIDDEN_FLAG = '--hidden';

export interface LoginItem {
  readonly supported: boolean;
  isEnabled(): boolean;
  setEnabled(enabled: boolean): void;
}

/** The command that starts this app again: the executable, plus the app folder for a development run. */
export function launchCommand(options: { execPath: string; appPath: string; isPackaged: boolean; env: Record<string, string | undefined> }): string[] {
  // An AppImage runs from a temporary mount whose path changes at every start; $APPIMAGE is the file itself.
  if (options.env.APPIMAGE) return [options.env.APPIMAGE];
  return options.isPackaged ? [options.execPath] : [options.execPath, options.appPath];
}

export function autostartFile(env: Record<string, string | undefined>, home = homedir()): string {
  const config = env.XDG_CONFIG_HOME?.trim() ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(config, 'autostart', 'hexhub.desktop');
}

/** One Exec argument, quoted and escaped as the Desktop Entry Specification asks. */
export function execArgument(arg: string): string {
  const plain = /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/["`$\\]/g, (c) => `\\${c}`)}"`;
  // Then the string-value escapes: a backslash is written twice, and % is the field-code character.
  return plain.replace(/\\/g, '\\\\').replace(/%/g, '%%');
}

export function desktopEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=HexHub',
    'Comment=Local hex.pm mirror',
    `Exec=${[...command, HIDDEN_FLAG].map(execArgument).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export interface LoginItemDeps {
  platform: NodeJS.Platform;
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'>;
  command: readonly string[];
  env: Record<string, string | undefined>;
  home?: string;
}

export function createLoginItem(deps: LoginItemDeps): LoginItem {
  if (deps.platform === 'linux') {
    const file = autostartFile(deps.env, deps.home);
    return {
      supported: true,
      isEnabled: () => existsSync(file),
      setEnabled(enabled) {
        if (!enabled) return rmSync(file, { force: true });
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, desktopEntry(deps.command));
      },
    };
  }
  if (deps.platform === 'darwin' || deps.platform === 'win32') {
    // Windows keys the entry by executable and arguments, so reading it back must name the same
    // ones; macOS login items take no arguments (startedHidden asks macOS instead).
    const [path, ...rest] = deps.command;
    const options = deps.platform === 'win32' ? { path: path!, args: [...rest.map((a) => `"${a}"`), HIDDEN_FLAG] } : {};
    return {
      supported: true,
      isEnabled: () => deps.app.getLoginItemSettings(options).openAtLogin,
      setEnabled: (enabled) => deps.app.setLoginItemSettings({ openAtLogin: enabled, ...options }),
    };
  }
  return {
    supported: false,
    isEnabled: () => false,
    setEnabled: () => {
      throw new Error(`start at login is not available on ${deps.platform}`);
    },
  };
}

/** Started by the login item: stay in the tray rather than open a window at every login. */
export function startedHidden(argv: readonly string[], platform: NodeJS.Platform, app: Pick<App, 'getLoginItemSettings'>): boolean {
  if (argv.includes(HIDDEN_FLAG)) return true;
  return platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin;
}
