// The app's questions and reports as Electron's message boxes, and the lock-file picker: the
// tray's flows (tray-actions.ts) take them as parameters, so tests give them fakes instead.
import type { Dialog } from 'electron';
import type { Prompts } from './tray-actions.js';

export function dialogPrompts(dialog: Pick<Dialog, 'showMessageBox'>): Prompts {
  return {
    async confirm({ message, detail, confirmLabel }) {
      const { response } = await dialog.showMessageBox({
        type: 'question',
        message,
        detail,
        buttons: [confirmLabel, 'Cancel'],
        defaultId: 0,
        cancelId: 1,
        noLink: true,
      });
      return response === 0;
    },
    async info(message, detail) {
      await dialog.showMessageBox({ type: 'info', message, detail: detail ?? '', buttons: ['OK'] });
    },
    async error(message, detail) {
      await dialog.showMessageBox({ type: 'error', message, detail: detail ?? '', buttons: ['OK'] });
    },
  };
}

/** A file dialog for a mix.lock or rebar.lock; undefined when cancelled. */
export async function chooseLockFile(dialog: Pick<Dialog, 'showOpenDialog'>): Promise<string | undefined> {
  const result = await dialog.showOpenDialog({
    title: 'Pre-warm from lock file',
    properties: ['openFile'],
    filters: [
      { name: 'Lock files (mix.lock, rebar.lock)', extensions: ['lock'] },
      { name: 'All files', extensions: ['*'] },
    ],
  });
  return result.canceled ? undefined : result.filePaths[0];
}
