// A rebar3 project in a HOME of its own, so only the mirror can have served its packages,
// trusting the test repository's signing key (rebar3 3.19 takes a non-hex.pm key only from
// the global config).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testKeys } from './hex-fixtures.js';

export interface Rebar3Project {
  home: string;
  dir: string;
  /** Runs rebar3 against the mirror at `mirrorUrl` (HEX_CDN), killed after `timeoutMs` (default 240 s). */
  run(args: string[], mirrorUrl: string, options?: { timeoutMs?: number }): Promise<ClientResult>;
  /** Removes the build and rebar3's package cache, so the next build must ask the mirror for everything. */
  forgetClientCache(): Promise<void>;
  remove(): Promise<void>;
}

/** An application `app` depending on `deps` (name → requirement). */
export async function createRebar3Project(deps: Record<string, string>): Promise<Rebar3Project> {
  const home = await mkdtemp(join(tmpdir(), 'hexhub-rebar3-home-'));
  const dir = join(home, 'app');
  await mkdir(join(home, '.config/rebar3'), { recursive: true });
  const pem = testKeys().publicKeyPem.replace(/\n$/, '');
  await writeFile(join(home, '.config/rebar3/rebar.config'), `{hex, [{repos, [#{name => <<"hexpm">>, repo_public_key => <<"${pem}">>}]}]}.\n`);
  await mkdir(join(dir, 'src'), { recursive: true });
  const names = Object.keys(deps);
  await writeFile(join(dir, 'rebar.config'), `{deps, [${names.map((n) => `{${n}, "${deps[n]}"}`).join(', ')}]}.\n`);
  await writeFile(
    join(dir, 'src/app.app.src'),
    `{application, app, [{description, "test app"}, {vsn, "0.1.0"}, {applications, [kernel, stdlib${names.map((n) => `, ${n}`).join('')}]}, {env, []}, {modules, []}]}.\n`,
  );
  await writeFile(join(dir, 'src/app.erl'), `-module(app).\n-export([run/0]).\nrun() -> ${names[0] ? `${names[0]}:hello()` : 'ok'}.\n`);
  return {
    home,
    dir,
    run: (args, mirrorUrl, options = {}) =>
      runClient('rebar3', args, { cwd: dir, env: { PATH: process.env.PATH, HOME: home, HEX_CDN: mirrorUrl, REBAR_COLOR: 'none' }, ...options }),
    forgetClientCache: async () => {
      await rm(join(dir, '_build'), { recursive: true, force: true });
      await rm(join(home, '.cache/rebar3'), { recursive: true, force: true });
    },
    remove: () => rm(home, { recursive: true, force: true }),
  };
}

export interface ClientResult {
  code: number | null;
  output: string;
  /** Killed because it ran past `timeoutMs`. */
  timedOut: boolean;
}

/**
 * Runs a client to completion with stdout and stderr interleaved as the user would see them;
 * killed with its whole process group (rebar3 under mix, escripts under rebar3) after `timeoutMs`.
 */
export function runClient(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string | undefined>; timeoutMs?: number },
): Promise<ClientResult> {
  // Asynchronous: the fake upstream lives in the test process and must keep answering.
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs ?? 240_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}
