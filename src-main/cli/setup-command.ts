// `hexhub setup`: point mix, rebar3 and the shells at this mirror (or undo that).
import type { SetupState } from '../../src-shared/contract.js';
import { parseHttpUrl, type Config, type ConfigOverrides } from '../config/config.js';
import { applySetup, inspectSetup, planSetup, SetupError, undoSetup, type SetupContext } from '../setup/machine-setup.js';
import { configFrom, fail } from './context.js';

export function mirrorUrlOf(config: Config): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

function printState(state: SetupState): void {
  const mark = (here: boolean) => (here ? 'this mirror' : 'not this mirror');
  process.stdout.write(`mirror: ${state.mirrorUrl}\n`);
  process.stdout.write(`mix (Hex):  ${state.mix.url}  [${state.mix.source}; ${mark(state.mix.pointsHere)}]\n`);
  process.stdout.write(`Hex API:    ${state.hexApi.url}  [${state.hexApi.source}; ${mark(state.hexApi.pointsHere)}]\n`);
  process.stdout.write(`rebar3:     ${state.rebar3.url}  [${state.rebar3.source}; ${mark(state.rebar3.pointsHere)}]\n`);
  process.stdout.write(`shell (${state.shell}) now: ${Object.entries(state.environment).map(([k, v]) => `${k}=${v ?? '(unset)'}`).join(' ')}\n`);
  for (const file of state.files) process.stdout.write(`  ${file.path}: ${file.mirrorUrl ? `sets ${file.mirrorUrl}` : file.exists ? 'no HexHub block' : 'does not exist'}\n`);
}

export async function setupCommand(options: ConfigOverrides & { mirrorUrl?: string; undo?: boolean; dryRun?: boolean }): Promise<void> {
  const config = configFrom(options);
  let mirrorUrl = mirrorUrlOf(config);
  if (options.mirrorUrl !== undefined) {
    try {
      mirrorUrl = parseHttpUrl(options.mirrorUrl);
    } catch (error) {
      fail(`--mirror-url: ${(error as Error).message}`);
    }
  }
  const ctx: SetupContext = { env: process.env, dataDir: config.dataDir, mirrorUrl };
  printState(await inspectSetup(ctx));
  try {
    if (options.undo) {
      const { restored, backup } = await undoSetup(ctx);
      process.stdout.write(`\nrestored from ${backup}:\n${restored.map((p) => `  ${p}`).join('\n')}\n`);
      return;
    }
    if (options.dryRun) {
      const changes = await planSetup(ctx);
      process.stdout.write(changes.length ? `\nwould change:\n\n${changes.map((c) => c.diff).join('\n')}` : '\nnothing to change\n');
      return;
    }
    const { changes, backup } = await applySetup(ctx);
    if (changes.length === 0) return void process.stdout.write('\neverything already points at this mirror\n');
    process.stdout.write(`\nchanged:\n${changes.map((c) => `  ${c.path} (${c.why})`).join('\n')}\nprevious versions saved in ${backup}; \`hexhub setup --undo\` restores them\n`);
    process.stdout.write('open a new terminal (or log in again) for the shell variables to apply\n');
  } catch (error) {
    if (error instanceof SetupError) fail(`setup not applied:\n${error.problems.map((p) => `  ${p}`).join('\n')}`);
    throw error;
  }
}
