// What the tray menu's items do. Each flow takes its effects as parameters (the engine's
// calls, a clipboard, prompts backed by Electron's dialogs), so the decisions — what to ask,
// what to report, when to stop — are plain functions that tests run under Node.
import { basename } from 'node:path';
import type { JobView, PrewarmRequest, SetupChange } from '../../src-shared/contract.js';
import type { Control } from '../../src-shared/control.js';
import { describeProblem } from '../../src-shared/problems.js';
import type { TrayMenuActions } from './tray-menu.js';

/** The dialogs a flow may show. */
export interface Prompts {
  confirm(question: { message: string; detail: string; confirmLabel: string }): Promise<boolean>;
  info(message: string, detail?: string): Promise<void>;
  error(message: string, detail?: string): Promise<void>;
}

/** One readable text for any error a flow meets: setup problems, field errors, or the message. */
export function exportLine(mirrorUrl: string): string {
  return `export HEX_MIRROR=${mirrorUrl}`;
}

export function copyExport(clipboard: { writeText(text: string): void }, mirrorUrl: string): string {
  const line = exportLine(mirrorUrl);
  clipboard.writeText(line);
  return line;
}

/** The confirmation shown before setup touches any file: every file and why. */
export function setupQuestion(mirrorUrl: string, changes: readonly SetupChange[]): { message: string; detail: string; confirmLabel: string } {
  const files = changes.map((c) => `• ${c.path}${c.created ? ' (new file)' : ''}\n    ${c.why}`).join('\n');
  return {
    message: `Point mix, rebar3 and your shells at ${mirrorUrl}?`,
    detail: `HexHub will change these files:\n\n${files}\n\nEach file is backed up first; \`hexhub setup --undo\` puts them back exactly as they were.`,
    confirmLabel: 'Apply',
  };
}

export type SetupOutcome = 'applied' | 'unchanged' | 'declined' | 'failed';

export interface SetUpMirrorDeps {
  mirrorUrl: string;
  /** What setup would change for this mirror (a dry run); throws SetupError when it cannot be applied. */
  plan(): Promise<SetupChange[]>;
  apply(): Promise<{ changes: SetupChange[]; backup: string | null }>;
  prompts: Prompts;
}

/** Plan, show the plan, apply only on a yes, and report what happened either way. */
export async function setUpMirror(deps: SetUpMirrorDeps): Promise<SetupOutcome> {
  let changes: SetupChange[];
  try {
    changes = await deps.plan();
  } catch (error) {
    await deps.prompts.error('HEX_MIRROR setup cannot be applied', describeProblem(error));
    return 'failed';
  }
  if (changes.length === 0) {
    await deps.prompts.info('Already set up', `mix, rebar3 and your shells already point at ${deps.mirrorUrl}.`);
    return 'unchanged';
  }
  if (!(await deps.prompts.confirm(setupQuestion(deps.mirrorUrl, changes)))) return 'declined';
  try {
    const result = await deps.apply();
    const changed = result.changes.map((c) => `• ${c.path}`).join('\n');
    await deps.prompts.info(
      'HEX_MIRROR is set up',
      `Changed:\n${changed}\n\nPrevious versions are saved in ${result.backup ?? 'the data folder'}; \`hexhub setup --undo\` restores them.\nOpen a new terminal (or log in again) for the shell variables to apply.`,
    );
    return 'applied';
  } catch (error) {
    await deps.prompts.error('HEX_MIRROR setup was not applied', describeProblem(error));
    return 'failed';
  }
}

export interface PrewarmDeps {
  /** A file dialog; undefined when the user cancels. */
  chooseFile(): Promise<string | undefined>;
  readFile(path: string): Promise<string>;
  prewarm(request: PrewarmRequest): Promise<JobView>;
  /** Told when a job starts (the finish is reported by the notifications from engine events). */
  started(job: JobView): void;
  prompts: Prompts;
}

export async function prewarmFromLockFile(deps: PrewarmDeps): Promise<JobView | undefined> {
  const path = await deps.chooseFile();
  if (!path) return undefined;
  let content: string;
  try {
    content = await deps.readFile(path);
  } catch (error) {
    await deps.prompts.error(`Could not read ${path}`, describeProblem(error));
    return undefined;
  }
  try {
    // The file name tells mix.lock from rebar.lock; the engine checks it and the contents.
    const job = await deps.prewarm({ lockfile: { name: basename(path), content } });
    deps.started(job);
    return job;
  } catch (error) {
    await deps.prompts.error(`Pre-warm from ${basename(path)} could not start`, describeProblem(error));
    return undefined;
  }
}

/** Offline mode through the engine's settings (saved like a change from the dashboard). */
export async function setOffline(
  deps: { updateSettings(patch: { upstreamEnabled: boolean }): Promise<unknown>; prompts: Prompts },
  offline: boolean,
): Promise<boolean> {
  try {
    await deps.updateSettings({ upstreamEnabled: !offline });
    return true;
  } catch (error) {
    await deps.prompts.error(`Could not go ${offline ? 'offline' : 'online'}`, describeProblem(error));
    return false;
  }
}

export interface TrayActionDeps {
  mirrorUrl: string;
  /** The engine's calls: the app runs the engine in process, and the tray asks it what the dashboard would. */
  control: Pick<Control, 'applySetup' | 'startPrewarm' | 'updateSettings'>;
  openDashboard(): void;
  clipboard: { writeText(text: string): void };
  /** Short feedback that needs no answer (a notification). */
  notify(title: string, body: string): void;
  prewarm: Omit<PrewarmDeps, 'prompts' | 'prewarm'>;
  loginItem: { setEnabled(enabled: boolean): void };
  setCloseToTray(enabled: boolean): Promise<void>;
  /** Redraws the tray after a change the engine does not report as an event. */
  refresh(): void;
  quit(): void;
  prompts: Prompts;
}

/** The menu's actions, bound to their effects; a failure is reported, never thrown into Electron's menu code. */
export function trayActions(deps: TrayActionDeps): TrayMenuActions {
  const { control } = deps;
  const report = (what: string) => (error: unknown) => void deps.prompts.error(what, describeProblem(error));
  return {
    openDashboard: () => deps.openDashboard(),
    copyExport: () => {
      const line = copyExport(deps.clipboard, deps.mirrorUrl);
      deps.notify('Copied to the clipboard', line);
    },
    setUpMirror: () =>
      void setUpMirror({
        mirrorUrl: deps.mirrorUrl,
        // The plan is a dry run, so what is shown is what the same call then applies.
        plan: async () => (await control.applySetup({ dryRun: true })).changes,
        apply: () => control.applySetup({}),
        prompts: deps.prompts,
      }).catch(report('HEX_MIRROR setup failed')),
    prewarmFromLockFile: () =>
      void prewarmFromLockFile({ ...deps.prewarm, prewarm: (request) => control.startPrewarm(request), prompts: deps.prompts }).catch(
        report('Pre-warm failed'),
      ),
    setOffline: (offline) =>
      void setOffline({ updateSettings: (patch) => control.updateSettings(patch), prompts: deps.prompts }, offline).catch(report('Offline mode')),
    setOpenAtLogin: (enabled) => {
      try {
        deps.loginItem.setEnabled(enabled);
      } catch (error) {
        report(`Could not ${enabled ? 'turn on' : 'turn off'} start at login`)(error);
      }
      deps.refresh();
    },
    setCloseToTray: (enabled) =>
      void deps
        .setCloseToTray(enabled)
        .catch(report('Could not save the preference'))
        .finally(() => deps.refresh()),
    quit: () => deps.quit(),
  };
}
