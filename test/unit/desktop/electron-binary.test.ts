// How `npm start` and the Electron e2e tests decide whether the desktop app can run here.
import { describe, expect, it } from 'vitest';
import { displayProblem, findElectron } from '../../../scripts/electron-binary.mjs';

describe('findElectron', () => {
  it('reports a package installed without its binary', () => {
    const result = findElectron({
      require: () => {
        throw new Error('Electron failed to install correctly, please delete node_modules/electron and try installing again');
      },
    });
    expect(result).toEqual({
      ok: false,
      reason: 'node_modules/electron has no binary: it was installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1, or its download failed',
    });
    expect(
      findElectron({
        require: () => {
          throw new Error('Cannot find module');
        },
      }),
    ).toEqual({ ok: false, reason: 'the electron package does not load: Cannot find module' });
  });

  it('reports a binary path that does not exist', () => {
    expect(findElectron({ require: () => '/w/node_modules/electron/dist/electron', exists: () => false })).toEqual({
      ok: false,
      reason: '/w/node_modules/electron/dist/electron does not exist',
    });
  });

  it('finds an installed binary', () => {
    expect(findElectron({ require: () => '/w/node_modules/electron/dist/electron', exists: () => true })).toEqual({
      ok: true,
      path: '/w/node_modules/electron/dist/electron',
    });
  });

  it('gives a reason for this machine either way', () => {
    const here = findElectron();
    expect(here.ok ? here.path : here.reason).toBeTruthy();
  });
});

describe('displayProblem', () => {
  it('needs a display on Linux only', () => {
    expect(displayProblem({ env: {}, platform: 'linux' })).toMatch(/no display/);
    expect(displayProblem({ env: { DISPLAY: ':0' }, platform: 'linux' })).toBeUndefined();
    expect(displayProblem({ env: { WAYLAND_DISPLAY: 'wayland-0' }, platform: 'linux' })).toBeUndefined();
    expect(displayProblem({ env: {}, platform: 'darwin' })).toBeUndefined();
  });
});
