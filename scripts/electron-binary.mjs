// Whether the desktop app can run here: Electron's binary must be installed (it is not where
// npm ran with ELECTRON_SKIP_BINARY_DOWNLOAD=1, or the download failed), and on Linux there
// must be a display to open a window on. Shared by `npm start` (scripts/start.mjs) and the
// Electron end-to-end tests, which skip with the same reason.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * { ok: true, path } or { ok: false, reason }. The electron package, required from Node,
 * exports the binary's path, or throws when its install step never put the binary in place.
 */
export function findElectron({ require = createRequire(import.meta.url), exists = existsSync } = {}) {
  let path;
  try {
    path = require('electron');
  } catch (error) {
    // Its own message ("failed to install correctly, please delete node_modules/electron…")
    // sends people the wrong way when the download was skipped on purpose.
    const missing = /failed to install correctly/.test(String(error?.message));
    return {
      ok: false,
      reason: missing
        ? 'node_modules/electron has no binary: it was installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1, or its download failed'
        : `the electron package does not load: ${String(error?.message ?? error).split('\n')[0]}`,
    };
  }
  if (typeof path !== 'string') return { ok: false, reason: 'the electron package did not give a binary path' };
  if (!exists(path)) return { ok: false, reason: `${path} does not exist` };
  return { ok: true, path };
}

/** Why no window can open here, or undefined when one can. */
export function displayProblem({ env = process.env, platform = process.platform } = {}) {
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return 'there is no display ($DISPLAY and $WAYLAND_DISPLAY are unset)';
  return undefined;
}
