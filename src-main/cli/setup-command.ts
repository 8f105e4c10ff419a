// `hexhub setup`: point mix, rebar3 and the shells at this mirror (or undo that). It changes
// the files of whoever runs it, in their environment, so it runs the setup calls itself
// rather than handing them to a server (whose HOME and shell may be another's).
import type { SetupState } from '../../src-shared/contract.js';
import type { ConfigOverrides } from '../config/config.js';
import { mirrorUrlOf } from '../config/mirror-url.js';
import { ValidationError } from '../core/validation-errors.js';
import { setupCalls } from '../control/setup-calls.js';
import { SetupError } from '../setup/machine-setup.js';
import { configFrom, fail } from './context.js';

function printState(state: SetupState): void {
  const mark = (here: boolean) => (here ? 'this mirror' : 'not this mirror');
  process.stdout.write(`mirror: ${state.mirrorUrl}\n`);
  process.stdout.write(`mix (Hex):  ${state.mix.url}  [${state.mix.source}; ${mark(state.mix.pointsHere)}]\n`);
  process.stdout.write(`Hex API:    ${state.hexApi.url}  [${state.hexApi.source}; ${mark(state.hexApi.pointsHere)}]\n`);
  process.stdout.write(`rebar3:     ${state.rebar3.url}  [${state.rebar3.source}; ${mark(state.rebar3.pointsHere)}]\n`);
  process.stdout.write(
    `shell (${state.shell}) now: ${Object.entries(state.environment)
      .map(([k, v]) => `${k}=${v ?? '(unset)'}`)
      .join(' ')}\n`,
  );
  for (const file of state.files)
    process.stdout.write(`  ${file.path}: ${file.mirrorUrl ? `sets ${file.mirrorUrl}` : file.exists ? 'no HexHub block' : 'does not exist'}\n`);
}

export async function setupCommand(options: ConfigOverrides & { mirrorUrl?: string; undo?: boolean; dryRun?: boolean }): Promise<void> {
  const config = configFrom(options);
  const setup = setupCalls({ env: process.env, dataDir: config.dataDir, mirrorUrl: () => mirrorUrlOf(config.host, config.port) });
  const { mirrorUrl } = options;
  try {
    printState(await setup.setupState(mirrorUrl));
    if (options.undo) {
      const { restored, backup } = await setup.undoSetup();
      process.stdout.write(`\nrestored from ${backup}:\n${(restored ?? []).map((p) => `  ${p}`).join('\n')}\n`);
      return;
    }
    const { changes, backup } = await setup.applySetup({ ...(mirrorUrl !== undefined ? { mirrorUrl } : {}), dryRun: options.dryRun === true });
    if (options.dryRun)
      return void process.stdout.write(changes.length ? `\nwould change:\n\n${changes.map((c) => c.diff).join('\n')}` : '\nnothing to change\n');
    if (changes.length === 0) return void process.stdout.write('\neverything already points at this mirror\n');
    process.stdout.write(
      `\nchanged:\n${changes.map((c) => `  ${c.path} (${c.why})`).join('\n')}\nprevious versions saved in ${backup}; \`hexhub setup --undo\` restores them\n`,
    );
    process.stdout.write('open a new terminal (or log in again) for the shell variables to apply\n');
  } catch (error) {
    if (error instanceof ValidationError) fail(`--mirror-url: ${error.fields.mirrorUrl}`);
    if (error instanceof SetupError) fail(`setup not applied:\n${error.problems.map((p) => `  ${p}`).join('\n')}`);
    throw error;
  }
}
