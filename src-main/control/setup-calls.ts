// The setup calls of the Control (show, plan or apply, undo), for whoever runs them: the engine
// (dashboard, tray) and `hexhub setup`, which works on the files of its own user and
// environment and so never hands this to a server. Both point clients at mirrorUrlOf's URL
// unless told another, which is checked here the same way for both.
import { messageOf } from '../../src-shared/problems.js';
import type { Control } from '../../src-shared/control.js';
import { parseHttpUrl } from '../config/config.js';
import { applySetup, inspectSetup, planSetup, undoSetup, type SetupContext } from '../setup/machine-setup.js';
import { ValidationError } from '../core/validation-errors.js';

export type SetupCalls = Pick<Control, 'setupState' | 'applySetup' | 'undoSetup'>;

export interface SetupTarget {
  env: Record<string, string | undefined>;
  /** Backups live here. */
  dataDir: string;
  /** The mirror's own URL (mirrorUrlOf), asked each time: a server knows its port only once listening. */
  mirrorUrl(): string;
}

export function setupCalls(target: SetupTarget): SetupCalls {
  const context = (mirrorUrl?: string): SetupContext => {
    let url = target.mirrorUrl();
    if (mirrorUrl !== undefined) {
      try {
        url = parseHttpUrl(mirrorUrl);
      } catch (error) {
        throw new ValidationError({ mirrorUrl: messageOf(error) });
      }
    }
    return { env: target.env, dataDir: target.dataDir, mirrorUrl: url };
  };
  return {
    setupState: async (mirrorUrl) => inspectSetup(context(mirrorUrl)),
    async applySetup(request = {}) {
      const ctx = context(request.mirrorUrl);
      const result = request.dryRun ? { changes: await planSetup(ctx), backup: null } : await applySetup(ctx);
      return { ...result, state: await inspectSetup(ctx) };
    },
    async undoSetup() {
      const ctx = context();
      const { restored, backup } = await undoSetup(ctx);
      return { changes: [], backup, restored, state: await inspectSetup(ctx) };
    },
  };
}
