// What the tray's items do, with their effects passed in: dialogs and the clipboard are fakes
// standing in for Electron's; the setup flow also runs the real planSetup/applySetup on a
// temporary HOME.
import { ApiError } from '../../../src-shared/api-client.js';
import { describeProblem } from '../../../src-shared/problems.js';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobView, PrewarmRequest, SettingsResponse, SetupChange, SetupResult } from '../../../src-shared/contract.js';
import { ValidationError } from '../../../src-main/core/validation-errors.js';
import {
  copyExport,
  exportLine,
  prewarmFromLockFile,
  setOffline,
  setUpMirror,
  setupQuestion,
  trayActions,
  type Prompts,
  type TrayActionDeps,
} from '../../../src-main/desktop/tray-actions.js';
import { applySetup, planSetup, SetupError, type SetupContext } from '../../../src-main/setup/machine-setup.js';
import { removeDir } from '../../support/mirror.js';
import { job } from './engine-states.js';

const MIRROR = 'http://127.0.0.1:4000';
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

/** Dialogs that answer `confirm` as told and record everything shown. */
function fakePrompts(answer = true) {
  const shown: { kind: string; message: string; detail?: string }[] = [];
  const prompts: Prompts = {
    confirm: async ({ message, detail }) => {
      shown.push({ kind: 'confirm', message, detail });
      return answer;
    },
    info: async (message, detail) => void shown.push({ kind: 'info', message, ...(detail !== undefined ? { detail } : {}) }),
    error: async (message, detail) => void shown.push({ kind: 'error', message, ...(detail !== undefined ? { detail } : {}) }),
  };
  return { prompts, shown };
}

const change = (path: string, created = false): SetupChange => ({ path, why: 'Hex (mix) mirror_url', created, diff: '' });

describe('copy export', () => {
  it('puts the export line for this mirror on the clipboard', () => {
    const written: string[] = [];
    expect(copyExport({ writeText: (t) => written.push(t) }, MIRROR)).toBe('export HEX_MIRROR=http://127.0.0.1:4000');
    expect(written).toEqual([exportLine(MIRROR)]);
  });
});

describe('set up HEX_MIRROR', () => {
  it('shows every planned file before changing anything, and applies on yes', async () => {
    const { prompts, shown } = fakePrompts(true);
    let applied = 0;
    const outcome = await setUpMirror({
      mirrorUrl: MIRROR,
      plan: async () => [change('/home/me/.hex/hex.config'), change('/home/me/.profile', true)],
      apply: async () => (applied++, { changes: [change('/home/me/.hex/hex.config')], backup: '/data/setup-backups/1' }),
      prompts,
    });
    expect(outcome).toBe('applied');
    expect(applied).toBe(1);
    expect(shown[0]).toMatchObject({ kind: 'confirm', message: `Point mix, rebar3 and your shells at ${MIRROR}?` });
    expect(shown[0]!.detail).toContain('/home/me/.hex/hex.config');
    expect(shown[0]!.detail).toContain('/home/me/.profile (new file)');
    expect(shown[1]).toMatchObject({ kind: 'info', message: 'HEX_MIRROR is set up' });
    expect(shown[1]!.detail).toContain('/data/setup-backups/1');
  });

  it('changes nothing when declined', async () => {
    const { prompts, shown } = fakePrompts(false);
    let applied = 0;
    const outcome = await setUpMirror({
      mirrorUrl: MIRROR,
      plan: async () => [change('/x')],
      apply: async () => (applied++, { changes: [], backup: null }),
      prompts,
    });
    expect(outcome).toBe('declined');
    expect(applied).toBe(0);
    expect(shown.map((s) => s.kind)).toEqual(['confirm']);
  });

  it('says so when everything already points here', async () => {
    const { prompts, shown } = fakePrompts();
    expect(await setUpMirror({ mirrorUrl: MIRROR, plan: async () => [], apply: async () => ({ changes: [], backup: null }), prompts })).toBe('unchanged');
    expect(shown).toEqual([{ kind: 'info', message: 'Already set up', detail: `mix, rebar3 and your shells already point at ${MIRROR}.` }]);
  });

  it('reports problems that forbid setup, and apply failures', async () => {
    const refused = fakePrompts();
    const outcome = await setUpMirror({
      mirrorUrl: MIRROR,
      plan: async () => {
        throw new SetupError(['/home/me/.bashrc: a line inside the HexHub block was edited by hand']);
      },
      apply: async () => ({ changes: [], backup: null }),
      prompts: refused.prompts,
    });
    expect(outcome).toBe('failed');
    expect(refused.shown).toEqual([
      { kind: 'error', message: 'HEX_MIRROR setup cannot be applied', detail: '/home/me/.bashrc: a line inside the HexHub block was edited by hand' },
    ]);

    const failing = fakePrompts(true);
    const applyFailed = await setUpMirror({
      mirrorUrl: MIRROR,
      plan: async () => [change('/x')],
      apply: async () => {
        throw new SetupError(['could not write /x: EROFS; nothing was changed']);
      },
      prompts: failing.prompts,
    });
    expect(applyFailed).toBe('failed');
    expect(failing.shown.at(-1)).toEqual({
      kind: 'error',
      message: 'HEX_MIRROR setup was not applied',
      detail: 'could not write /x: EROFS; nothing was changed',
    });
  });

  it('runs the real setup on a temporary HOME after the confirmation', async () => {
    const home = await mkdtemp(join(tmpdir(), 'hexhub-tray-setup-'));
    dirs.push(home);
    const ctx: SetupContext = { env: { HOME: home, SHELL: '/bin/bash', PATH: '' }, home, dataDir: join(home, 'data'), mirrorUrl: MIRROR };
    const { prompts, shown } = fakePrompts(true);
    expect(await setUpMirror({ mirrorUrl: MIRROR, plan: () => planSetup(ctx), apply: () => applySetup(ctx), prompts })).toBe('applied');
    expect(shown[0]!.detail).toContain(join(home, '.hex', 'hex.config'));
    expect(await readFile(join(home, '.hex', 'hex.config'), 'utf8')).toContain(MIRROR);
    expect(await readFile(join(home, '.bashrc'), 'utf8')).toContain(`HEX_MIRROR`);
    // Again: nothing to do.
    const again = fakePrompts(true);
    expect(await setUpMirror({ mirrorUrl: MIRROR, plan: () => planSetup(ctx), apply: () => applySetup(ctx), prompts: again.prompts })).toBe('unchanged');
  });

  it('lists the files in its question', () => {
    const question = setupQuestion(MIRROR, [change('/a'), change('/b', true)]);
    expect(question.confirmLabel).toBe('Apply');
    expect(question.detail).toMatch(/• \/a\n {4}Hex \(mix\) mirror_url\n• \/b \(new file\)/);
    expect(question.detail).toContain('hexhub setup --undo');
  });
});

describe('pre-warm from lock file', () => {
  function deps(overrides: Partial<Parameters<typeof prewarmFromLockFile>[0]> = {}) {
    const requests: PrewarmRequest[] = [];
    const started: JobView[] = [];
    const { prompts, shown } = fakePrompts();
    const d = {
      chooseFile: async () => '/work/app/mix.lock',
      readFile: async () => '%{"jason": {:hex, :jason, "1.4.1", "x", [:mix], [], "hexpm", "y"}}',
      prewarm: async (request: PrewarmRequest) => (requests.push(request), job('j1', 'resolving')),
      started: (j: JobView) => void started.push(j),
      prompts,
      ...overrides,
    };
    return { d, requests, started, shown };
  }

  it('sends the chosen lock file, named, to the engine', async () => {
    const { d, requests, started, shown } = deps();
    expect((await prewarmFromLockFile(d))?.id).toBe('j1');
    expect(requests).toEqual([{ lockfile: { name: 'mix.lock', content: '%{"jason": {:hex, :jason, "1.4.1", "x", [:mix], [], "hexpm", "y"}}' } }]);
    expect(started.map((j) => j.id)).toEqual(['j1']);
    expect(shown).toEqual([]);
  });

  it('does nothing when the dialog is cancelled', async () => {
    const { d, requests, shown } = deps({ chooseFile: async () => undefined });
    expect(await prewarmFromLockFile(d)).toBeUndefined();
    expect(requests).toEqual([]);
    expect(shown).toEqual([]);
  });

  it('reports an unreadable file and a lock file the engine refuses', async () => {
    const unreadable = deps({
      readFile: async () => {
        throw new Error('EACCES: permission denied');
      },
    });
    await prewarmFromLockFile(unreadable.d);
    expect(unreadable.shown).toEqual([{ kind: 'error', message: 'Could not read /work/app/mix.lock', detail: 'EACCES: permission denied' }]);

    const refused = deps({
      prewarm: async () => {
        throw new ValidationError({ lockfile: 'line 1: expected a map' }, 'the pre-warm request is not valid');
      },
    });
    await prewarmFromLockFile(refused.d);
    expect(refused.shown).toEqual([{ kind: 'error', message: 'Pre-warm from mix.lock could not start', detail: 'lockfile: line 1: expected a map' }]);
  });
});

describe('offline mode', () => {
  it('switches the upstream off and on through the engine settings', async () => {
    const patches: unknown[] = [];
    const { prompts } = fakePrompts();
    expect(await setOffline({ updateSettings: async (p) => patches.push(p), prompts }, true)).toBe(true);
    expect(await setOffline({ updateSettings: async (p) => patches.push(p), prompts }, false)).toBe(true);
    expect(patches).toEqual([{ upstreamEnabled: false }, { upstreamEnabled: true }]);
  });

  it('reports a setting fixed by the environment', async () => {
    const { prompts, shown } = fakePrompts();
    const updateSettings = async () => {
      throw new ValidationError({ upstreamEnabled: 'fixed by the environment variable UPSTREAM_ENABLED' });
    };
    expect(await setOffline({ updateSettings, prompts }, true)).toBe(false);
    expect(shown).toEqual([{ kind: 'error', message: 'Could not go offline', detail: 'upstreamEnabled: fixed by the environment variable UPSTREAM_ENABLED' }]);
  });
});

describe('trayActions', () => {
  function bound(overrides: Partial<TrayActionDeps> = {}) {
    const events: string[] = [];
    const { prompts, shown } = fakePrompts();
    const deps: TrayActionDeps = {
      mirrorUrl: MIRROR,
      openDashboard: () => events.push('open'),
      clipboard: { writeText: (t) => events.push(`clipboard:${t}`) },
      notify: (title, body) => events.push(`notify:${title}:${body}`),
      control: {
        applySetup: async () => {
          throw new Error('not expected here');
        },
        startPrewarm: async () => job('j', 'running'),
        updateSettings: async () => {
          throw new Error('not expected here');
        },
      },
      prewarm: { chooseFile: async () => undefined, readFile: async () => '', started: () => undefined },
      loginItem: { setEnabled: (on) => void events.push(`login:${on}`) },
      setCloseToTray: async (on) => void events.push(`closeToTray:${on}`),
      refresh: () => events.push('refresh'),
      quit: () => events.push('quit'),
      prompts,
      ...overrides,
    };
    return { actions: trayActions(deps), events, shown };
  }

  it('copies and confirms with a notification', () => {
    const { actions, events } = bound();
    actions.copyExport();
    expect(events).toEqual([`clipboard:export HEX_MIRROR=${MIRROR}`, `notify:Copied to the clipboard:export HEX_MIRROR=${MIRROR}`]);
  });

  it('toggles the login item and redraws; a failure is reported, not thrown', () => {
    const ok = bound();
    ok.actions.setOpenAtLogin(true);
    expect(ok.events).toEqual(['login:true', 'refresh']);
    const failing = bound({
      loginItem: {
        setEnabled: () => {
          throw new Error('EACCES: ~/.config/autostart');
        },
      },
    });
    expect(() => failing.actions.setOpenAtLogin(true)).not.toThrow();
    expect(failing.shown).toEqual([{ kind: 'error', message: 'Could not turn on start at login', detail: 'EACCES: ~/.config/autostart' }]);
    expect(failing.events).toEqual(['refresh']);
  });

  it('saves close-to-tray, then redraws', async () => {
    const { actions, events } = bound();
    actions.setCloseToTray(false);
    await expect.poll(() => events).toEqual(['closeToTray:false', 'refresh']);
  });

  it("asks the engine's Control: a dry run for the plan, the same call to apply, and pre-warm and offline through it", async () => {
    const calls: unknown[] = [];
    const planned = { changes: [change('/home/me/.profile')], backup: null, state: {} as SetupResult['state'] };
    const control: TrayActionDeps['control'] = {
      applySetup: async (request) => (calls.push(['applySetup', request]), request?.dryRun ? planned : { ...planned, backup: '/data/setup-backups/1' }),
      startPrewarm: async (request) => (calls.push(['startPrewarm', request]), job('j2', 'resolving')),
      updateSettings: async (patch) => (calls.push(['updateSettings', patch]), {} as SettingsResponse),
    };
    const { actions, shown } = bound({
      control,
      prewarm: { chooseFile: async () => '/app/rebar.lock', readFile: async () => '[].', started: () => undefined },
    });
    actions.setUpMirror();
    await expect.poll(() => shown.map((s) => s.message)).toEqual([`Point mix, rebar3 and your shells at ${MIRROR}?`, 'HEX_MIRROR is set up']);
    expect(shown[1]!.detail).toContain('/data/setup-backups/1');
    actions.prewarmFromLockFile();
    await expect.poll(() => calls.length).toBe(3);
    actions.setOffline(true);
    await expect.poll(() => calls.length).toBe(4);
    expect(calls).toEqual([
      ['applySetup', { dryRun: true }],
      ['applySetup', {}],
      ['startPrewarm', { lockfile: { name: 'rebar.lock', content: '[].' } }],
      ['updateSettings', { upstreamEnabled: false }],
    ]);
  });

  it('opens the dashboard and quits', () => {
    const { actions, events } = bound();
    actions.openDashboard();
    actions.quit();
    expect(events).toEqual(['open', 'quit']);
  });
});

describe('describeProblem', () => {
  it('reads setup problems, field errors and plain errors, in process and from the API alike', () => {
    expect(describeProblem(new SetupError(['a', 'b']))).toBe('a\nb');
    expect(describeProblem(new ValidationError({ x: 'bad' }))).toBe('x: bad');
    expect(describeProblem(new ApiError(409, { error: 'setup_refused', message: 'a\nb', problems: ['a', 'b'] }))).toBe('a\nb');
    expect(describeProblem(new ApiError(422, { error: 'validation_failed', message: 'some values are not valid', fields: { x: 'bad' } }))).toBe('x: bad');
    expect(describeProblem(new Error('boom'))).toBe('boom');
    expect(describeProblem('text')).toBe('text');
  });
});
