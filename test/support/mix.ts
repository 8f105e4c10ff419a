// A mix project built with the real Hex client (the vendored hex-2.5.1.ez, see
// test/fixtures/clients/README.md), in a HOME, MIX_HOME and HEX_HOME of its own, so only the
// mirror can have served its packages and nothing of the user's own setup leaks in. The fixture
// packages are rebar3 packages, which mix compiles with rebar3.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testKeys } from './hex-fixtures.js';
import { runClient, type ClientResult } from './rebar3.js';
import { requireTool } from './tools.js';

export const HEX_ARCHIVE = fileURLToPath(new URL('../fixtures/clients/hex-2.5.1.ez', import.meta.url));
export const HEX_ARCHIVE_SHA256 = 'e01fcb62b9172fa18e264876acc1386abba84c25feee55b237a5a0eadd90c2e9';

/** mix, and rebar3 for the rebar3 packages; skips (or fails under CI=true) where one is missing. */
export function mixAvailable(): boolean {
  return requireTool('mix', 'apt-get install elixir', ['--version']) && requireTool('rebar3', 'apt-get install erlang-nox rebar3', ['version']);
}

let mixHome: Promise<string> | undefined;
let mixHomeUsers = 0;

/**
 * The temporary MIX_HOME holding the Hex archive: installed by the first live project, removed
 * with the last (vitest ends its workers without an 'exit' event, so nothing later would).
 */
async function acquireMixHome(): Promise<string> {
  mixHomeUsers++;
  try {
    return await (mixHome ??= installHex());
  } catch (error) {
    await releaseMixHome();
    throw error;
  }
}

async function releaseMixHome(): Promise<void> {
  if (--mixHomeUsers > 0 || !mixHome) return;
  // Forgotten before waiting, so that a project created meanwhile installs a MIX_HOME of its own.
  const installed = mixHome;
  mixHome = undefined;
  const dir = await installed.catch(() => undefined);
  if (dir) await rm(join(dir, '..'), { recursive: true, force: true });
}

async function installHex(): Promise<string> {
  const digest = createHash('sha256')
    .update(await readFile(HEX_ARCHIVE))
    .digest('hex');
  if (digest !== HEX_ARCHIVE_SHA256) {
    throw new Error(`${HEX_ARCHIVE} has sha256 ${digest}, expected ${HEX_ARCHIVE_SHA256}: not the Hex 2.5.1 archive described in its README`);
  }
  const home = await mkdtemp(join(tmpdir(), 'hexhub-mix-archive-'));
  const dir = join(home, 'mix');
  const result = await runClient('mix', ['archive.install', HEX_ARCHIVE, '--force'], {
    cwd: home,
    env: clientEnv(home, dir, join(home, '.hex')),
    timeoutMs: 60_000,
  });
  if (result.code !== 0) {
    await rm(home, { recursive: true, force: true });
    throw new Error(`mix archive.install failed (${result.code}):\n${result.output}`);
  }
  return dir;
}

/** Debian's rebar3, which mix must use: `mix local.rebar` would need builds.hex.pm. */
const rebar3Path = spawnSync('sh', ['-c', 'command -v rebar3'], { encoding: 'utf8' }).stdout.trim() || undefined;

function clientEnv(home: string, mixHomeDir: string, hexHome: string, mirrorUrl?: string): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: home,
    MIX_HOME: mixHomeDir,
    HEX_HOME: hexHome,
    MIX_REBAR3: rebar3Path,
    // Without a UTF-8 locale the VM warns on every run and file names may be mangled.
    LANG: 'C.UTF-8',
    ...(mirrorUrl ? { HEX_MIRROR: mirrorUrl } : {}),
  };
}

export interface MixProject {
  home: string;
  dir: string;
  hexHome: string;
  /** Runs `mix ARGS` against the mirror at `mirrorUrl` (HEX_MIRROR), killed after `timeoutMs` (default 240 s). */
  run(args: string[], mirrorUrl: string, options?: { timeoutMs?: number }): Promise<ClientResult>;
  /** `mix do deps.get + compile` (Elixir ≥ 1.14; one VM start instead of two), killed after `timeoutMs` (default 240 s). */
  build(mirrorUrl: string, options?: { timeoutMs?: number }): Promise<ClientResult>;
  /**
   * Removes deps/, _build/ and Hex's caches (registry records with their ETags, tarballs); only
   * hex.config, which trusts the test key, and mix.lock stay. The next build must then ask the
   * mirror for every record and tarball, and Hex has no cached record to fall back on.
   */
  forgetClientCache(): Promise<void>;
  remove(): Promise<void>;
}

/** An application `app` depending on the hex packages `deps` (name → requirement). */
export async function createMixProject(deps: Record<string, string>): Promise<MixProject> {
  const mixHomeDir = await acquireMixHome();
  const home = await mkdtemp(join(tmpdir(), 'hexhub-mix-home-'));
  const dir = join(home, 'app');
  const hexHome = join(home, '.hex');
  const names = Object.keys(deps);
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(
    join(dir, 'mix.exs'),
    [
      'defmodule App.MixProject do',
      '  use Mix.Project',
      '',
      '  def project do',
      `    [app: :app, version: "0.1.0", deps: [${names.map((n) => `{:${n}, "${deps[n]}"}`).join(', ')}]]`,
      '  end',
      '',
      '  def application, do: [extra_applications: []]',
      'end',
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'lib/app.ex'), `defmodule App do\n  def run, do: ${names[0] ? `:${names[0]}.hello()` : ':ok'}\nend\n`);

  const pem = join(home, 'hexpm-test-key.pem');
  await writeFile(pem, testKeys().publicKeyPem);
  const run = (args: string[], mirrorUrl: string | undefined, options: { timeoutMs?: number; cwd?: string } = {}) =>
    runClient('mix', args, { cwd: options.cwd ?? dir, env: clientEnv(home, mixHomeDir, hexHome, mirrorUrl), timeoutMs: options.timeoutMs ?? 240_000 });
  // Outside the project, so that this touches nothing but HEX_HOME/hex.config.
  const trusted = await run(['hex.repo', 'set', 'hexpm', '--public-key', pem], undefined, { cwd: home, timeoutMs: 60_000 });
  if (trusted.code !== 0) {
    await rm(home, { recursive: true, force: true });
    await releaseMixHome();
    throw new Error(`mix hex.repo set hexpm --public-key failed (${trusted.code}):\n${trusted.output}`);
  }

  return {
    home,
    dir,
    hexHome,
    run: (args, mirrorUrl, options = {}) => run(args, mirrorUrl, options),
    build: (mirrorUrl, options = {}) => run(['do', 'deps.get', '+', 'compile'], mirrorUrl, options),
    forgetClientCache: async () => {
      for (const path of [join(dir, 'deps'), join(dir, '_build'), join(hexHome, 'cache.ets'), join(hexHome, 'packages')]) {
        await rm(path, { recursive: true, force: true });
      }
    },
    remove: async () => {
      await rm(home, { recursive: true, force: true });
      await releaseMixHome();
    },
  };
}
