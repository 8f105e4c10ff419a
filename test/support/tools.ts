// System tools some tests need (rebar3, chromium, …). Where one is missing the test is
// skipped with a printed reason, except under CI=true, where a missing tool is a failure.
import { spawnSync } from 'node:child_process';

export function hasTool(command: string, args: string[] = ['--version']): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 });
  return result.status === 0;
}

/** Returns true if the tests may run; prints why they are skipped; throws under CI. */
export function requireTool(command: string, install: string, args?: string[]): boolean {
  if (hasTool(command, args)) return true;
  const reason = `${command} is not installed (${install})`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`SKIPPED: ${reason}`);
  return false;
}
