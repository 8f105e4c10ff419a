// Runs the built `./bin/hexhub` as a real process, the way users and scripts do.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testKeys } from './hex-fixtures.js';

export const HEXHUB = fileURLToPath(new URL('../../bin/hexhub', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/hexhub.mjs', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(BUILT)) throw new Error('dist/ is missing: run `npm run build` (npm test does) before these tests');
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function upstreamEnv(upstreamUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    UPSTREAM_URL: upstreamUrl,
    UPSTREAM_BUILDS_URL: upstreamUrl,
    UPSTREAM_API_URL: `${upstreamUrl}/api`,
    UPSTREAM_PUBLIC_KEY: testKeys().publicKeyPem,
    UPSTREAM_RETRY_DELAY: '20',
    ...extra,
  };
}

/** Starts `hexhub serve` and resolves once it printed its listening line. */
export function serve(args: string[], env: Record<string, string>): Promise<ServeProcess> {
  assertBuilt();
  const child = spawn(HEXHUB, ['serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hexhub serve did not start in time:\n${err}`)), 15_000);
    const onData = () => {
      const match = /HexHub mirror listening on (http:\/\/\S+)\n/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({ child, url: match[1]!, stdout: () => out, stderr: () => err, exited });
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`hexhub serve exited with ${code} before listening:\n${err}`));
    });
  });
}

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs hexhub to completion. */
export function run(args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<Outcome> {
  assertBuilt();
  return runCommand(HEXHUB, args, env, timeoutMs);
}

/** Runs a command to completion with its output collected; killed after `timeoutMs`. */
export function runCommand(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A command that should have failed fast but started serving instead must not hang the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
