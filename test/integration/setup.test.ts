// `hexhub setup` on a temporary HOME with real files: apply, re-apply, undo, the shells
// reading what it wrote, refusals that leave everything as it was, symbolic links kept,
// the secrets around its blocks never shown, private backups, and rebar3 using the mirror
// because of the setup alone.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../../src-shared/api-client.js';
import { applySetup, inspectSetup, planSetup } from '../../src-main/setup/machine-setup.js';
import { run, serve, upstreamEnv } from '../support/cli.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, testKeys } from '../support/hex-fixtures.js';
import { removeDir } from '../support/mirror.js';
import { hasTool, requireTool } from '../support/tools.js';

const MIRROR = 'http://127.0.0.1:4567';
const DEBIAN_BASHRC = `# ~/.bashrc: executed by bash(1) for non-login shells.

# If not running interactively, don't do anything
case $- in
    *i*) ;;
      *) return;;
esac

HISTCONTROL=ignoreboth
alias ll='ls -alF'
`;
const HEX_CONFIG = `{api_key,<<"0123456789abcdef">>}.
{'$repos',#{<<"hexpm:acme">> => #{auth_key => <<"secret">>,url => <<"https://repo.hex.pm/repos/acme">>}}}.
{unsafe_https,false}.
`;

const dirs: string[] = [];
let home: string;

async function snapshot(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.name === 'data') continue; // the mirror's data dir, where backups go
      if (entry.isSymbolicLink()) files.set(path, Buffer.from(`symbolic link to ${await readlink(path)}`));
      else if (entry.isDirectory()) await walk(path);
      else files.set(path, await readFile(path));
    }
  };
  await walk(root);
  return files;
}

/** The temporary HOME and nothing of the test runner's own mirror settings. */
function homeEnv(env: Record<string, string> = {}): Record<string, string> {
  return { HOME: home, SHELL: '/bin/bash', XDG_CONFIG_HOME: '', ZDOTDIR: '', HEX_HOME: '', MIX_XDG: '', HEX_MIRROR: '', HEX_CDN: '', ...env };
}

function setup(args: string[], env: Record<string, string> = {}) {
  return run(['setup', '--data-dir', join(home, 'data'), ...args], homeEnv(env));
}

/** A shell started the way the test names, in the temporary HOME, printing one variable. */
function shellSees(command: string[], variable: string): string {
  const result = spawnSync(command[0]!, [...command.slice(1)], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home, TERM: 'dumb' },
    timeout: 20_000,
  });
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr}`);
  const line = result.stdout.split('\n').find((l) => l.startsWith(`${variable}=`));
  return line?.slice(variable.length + 1) ?? '';
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'hexhub-home-'));
  dirs.push(home);
  await mkdir(join(home, '.hex'));
  await writeFile(join(home, '.hex/hex.config'), HEX_CONFIG);
  await writeFile(join(home, '.bashrc'), DEBIAN_BASHRC);
  await writeFile(join(home, '.zshrc'), 'setopt autocd\n');
});

afterAll(async () => {
  await Promise.all(dirs.map(removeDir));
});

describe('hexhub setup', () => {
  it('shows the current state, then applies; re-applying changes nothing; undo restores every byte', async () => {
    const before = await snapshot(home);
    const applied = await setup(['--mirror-url', MIRROR]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/mix \(Hex\): +https:\/\/repo\.hex\.pm +\[default; not this mirror\]/);
    expect(applied.stdout).toMatch(/previous versions saved in .*setup-backups/);

    const config = await readFile(join(home, '.hex/hex.config'), 'utf8');
    expect(config).toBe(`${HEX_CONFIG}{mirror_url,<<"${MIRROR}">>}.\n{api_url,<<"${MIRROR}/api">>}.\n`);
    const bashrc = await readFile(join(home, '.bashrc'), 'utf8');
    expect(bashrc.startsWith('# >>> hexhub >>>')).toBe(true);
    expect(bashrc.endsWith(DEBIAN_BASHRC)).toBe(true);

    const again = await setup(['--mirror-url', MIRROR]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/everything already points at this mirror/);
    expect(again.stdout).toMatch(/mix \(Hex\): +http:\/\/127\.0\.0\.1:4567 +\[.*hex\.config; this mirror\]/);
    expect((await readFile(join(home, '.bashrc'), 'utf8')).split('# >>> hexhub >>>').length).toBe(2);

    const undone = await setup(['--undo']);
    expect(undone.code, undone.stderr).toBe(0);
    const after = await snapshot(home);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [path, bytes] of before) expect(after.get(path)!.equals(bytes), path).toBe(true);
    expect((await setup(['--undo'])).stderr).toMatch(/no setup to undo/);
  });

  it('changes to another mirror URL in place', async () => {
    await setup(['--mirror-url', MIRROR]);
    await setup(['--mirror-url', 'http://127.0.0.1:9999']);
    const config = await readFile(join(home, '.hex/hex.config'), 'utf8');
    expect(config).toBe(`${HEX_CONFIG}{mirror_url,<<"http://127.0.0.1:9999">>}.\n{api_url,<<"http://127.0.0.1:9999/api">>}.\n`);
    expect(shellSees(['bash', '-c', 'source ~/.bashrc; echo HEX_MIRROR=$HEX_MIRROR'], 'HEX_MIRROR')).toBe('http://127.0.0.1:9999');
  });

  it('writes files each shell reads, interactive or login, in its own syntax', async () => {
    expect((await setup(['--mirror-url', MIRROR])).code).toBe(0);
    // Non-interactive bash sourcing .bashrc: the Debian early return comes after our block.
    expect(shellSees(['bash', '-c', 'source ~/.bashrc; echo HEX_MIRROR=$HEX_MIRROR'], 'HEX_MIRROR')).toBe(MIRROR);
    expect(shellSees(['bash', '-ic', 'echo HEX_CDN=$HEX_CDN'], 'HEX_CDN')).toBe(MIRROR);
    expect(shellSees(['bash', '-lc', 'echo HEX_BUILDS_URL=$HEX_BUILDS_URL'], 'HEX_BUILDS_URL')).toBe(MIRROR);
    expect(shellSees(['sh', '-lc', 'echo HEX_CDN=$HEX_CDN'], 'HEX_CDN')).toBe(MIRROR);
    if (requireTool('zsh', 'apt-get install zsh')) expect(shellSees(['zsh', '-c', 'echo HEX_MIRROR=$HEX_MIRROR'], 'HEX_MIRROR')).toBe(MIRROR);
    if (requireTool('fish', 'apt-get install fish')) expect(shellSees(['fish', '-c', 'echo HEX_CDN=$HEX_CDN'], 'HEX_CDN')).toBe(MIRROR);
    if (hasTool('erl', ['-noshell', '-eval', 'halt().'])) {
      const consult = spawnSync(
        'erl',
        ['-noshell', '-eval', `{ok,T}=file:consult("${join(home, '.hex/hex.config')}"), io:format("~p", [proplists:get_value(mirror_url, T)]), halt().`],
        { encoding: 'utf8' },
      );
      expect(consult.stdout).toBe(`<<"${MIRROR}">>`);
    }
  });

  it('prints a diff on --dry-run and changes nothing', async () => {
    const before = await snapshot(home);
    const result = await setup(['--mirror-url', MIRROR, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`+{mirror_url,<<"${MIRROR}">>}.`);
    expect(result.stdout).toContain(`+export HEX_CDN='${MIRROR}'`);
    expect(result.stdout).toContain(`+set -gx HEX_MIRROR '${MIRROR}'`);
    const after = await snapshot(home);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  });

  it('refuses, changing nothing, when a block was edited by hand, a file is read-only, or the shell is unknown', async () => {
    await setup(['--mirror-url', MIRROR]);
    const edited = (await readFile(join(home, '.zshenv'), 'utf8')).replace("HEX_CDN='", "HEX_CDN='x");
    await writeFile(join(home, '.zshenv'), edited);
    const before = await snapshot(home);
    const result = await setup(['--mirror-url', 'http://127.0.0.1:1111']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\.zshenv: the HexHub block was edited by hand/);
    const after = await snapshot(home);
    for (const [path, bytes] of before) expect(after.get(path)!.equals(bytes), path).toBe(true);

    const fresh = await mkdtemp(join(tmpdir(), 'hexhub-home-'));
    dirs.push(fresh);
    home = fresh;
    await mkdir(join(home, '.hex'));
    await writeFile(join(home, '.hex/hex.config'), HEX_CONFIG);
    await writeFile(join(home, '.profile'), '# profile\n');
    await chmod(join(home, '.profile'), 0o444);
    if (process.getuid?.() !== 0) {
      const readOnly = await setup(['--mirror-url', MIRROR]);
      expect(readOnly.stderr).toMatch(/\.profile is not writable/);
      expect(await readFile(join(home, '.hex/hex.config'), 'utf8')).toBe(HEX_CONFIG);
    }
    const unknown = await setup(['--mirror-url', MIRROR], { SHELL: '/usr/bin/tcsh' });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/login shell is tcsh/);
    expect(await readFile(join(home, '.hex/hex.config'), 'utf8')).toBe(HEX_CONFIG);
  });
});

// Startup files and hex.config hold tokens; each secret sits right next to where setup
// writes, so a diff with context lines, or a whole file in an answer, would show it.
const SECRETS = ['ghp_secretBashrcFirstLine', 'secretProfileLastLine', 'secretZshenvLastLine', 'secretHexApiKey'];

async function writeSecretHome(): Promise<void> {
  await writeFile(join(home, '.bashrc'), `export GITHUB_TOKEN=${SECRETS[0]}\n${DEBIAN_BASHRC}`);
  await writeFile(join(home, '.profile'), `# ~/.profile\nexport AWS_SECRET_ACCESS_KEY=${SECRETS[1]}`);
  await writeFile(join(home, '.zshenv'), `export OPENAI_API_KEY=${SECRETS[2]}\n`);
  await writeFile(join(home, '.hex/hex.config'), `{api_key,<<"${SECRETS[3]}">>}.\n`);
}

function expectNoSecrets(shown: string): void {
  for (const secret of SECRETS) expect(shown).not.toContain(secret);
}

/** The block setup writes into POSIX startup files, as a diff shows it being added. */
function addedBlock(url: string): string {
  return [
    `+export HEX_MIRROR='${url}'`,
    `+export HEX_BUILDS_URL='${url}'`,
    `+export HEX_CDN='${url}'`,
    `+export HEX_API_URL='${url}/api'`,
    '+# <<< hexhub <<<',
  ].join('\n');
}

describe('what setup shows of the files it changes', () => {
  beforeEach(writeSecretHome);

  it('answers a dry run and an apply through the control API with the blocks and none of the secrets around them', async () => {
    const dataDir = join(home, 'data');
    const server = await serve(['--port', '0', '--data-dir', dataDir], homeEnv({ UPSTREAM_ENABLED: 'false' }));
    try {
      const api = createApiClient({ baseUrl: server.url, token: (await readFile(join(dataDir, 'token'), 'utf8')).trim() });
      const dry = await api.applySetup({ dryRun: true, mirrorUrl: MIRROR });
      const dryAnswer = JSON.stringify(dry);
      expectNoSecrets(dryAnswer);
      const bashrc = dry.changes.find((c) => c.path === join(home, '.bashrc'))!;
      expect(bashrc).toMatchObject({ created: false, why: expect.stringMatching(/interactive bash/) });
      expect(bashrc.diff).toContain(addedBlock(MIRROR));
      expect(dry.changes.find((c) => c.path === join(home, '.hex/hex.config'))!.diff).toContain(
        `+{mirror_url,<<"${MIRROR}">>}.\n+{api_url,<<"${MIRROR}/api">>}.`,
      );
      expect(dry.changes.find((c) => c.path.endsWith('hexhub.fish'))!.created).toBe(true);

      const applied = await api.applySetup({ mirrorUrl: MIRROR });
      expectNoSecrets(JSON.stringify(applied));
      expect(applied.changes.map((c) => c.diff)).toEqual(dry.changes.map((c) => c.diff));
      const written = await readFile(join(home, '.bashrc'), 'utf8');
      expect(written).toContain(`export GITHUB_TOKEN=${SECRETS[0]}`);
      expect(written).toContain(`export HEX_MIRROR='${MIRROR}'`);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('prints the blocks and none of the secrets on --dry-run, on apply and when changing to another mirror', async () => {
    const dry = await setup(['--mirror-url', MIRROR, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expectNoSecrets(dry.stdout + dry.stderr);
    expect(dry.stdout).toContain(addedBlock(MIRROR));
    expect(dry.stdout).toContain(`+{mirror_url,<<"${MIRROR}">>}.`);

    const applied = await setup(['--mirror-url', MIRROR]);
    expect(applied.code, applied.stderr).toBe(0);
    expectNoSecrets(applied.stdout + applied.stderr);

    // Replacing the block: the diff runs from the old block to the new, with nothing of the lines around it.
    const other = 'http://127.0.0.1:9999';
    const change = await setup(['--mirror-url', other, '--dry-run']);
    expect(change.code, change.stderr).toBe(0);
    expectNoSecrets(change.stdout + change.stderr);
    expect(change.stdout).toContain(`-export HEX_MIRROR='${MIRROR}'`);
    expect(change.stdout).toContain(`+export HEX_MIRROR='${other}'`);
    expect(change.stdout).toContain(
      `-{mirror_url,<<"${MIRROR}">>}.\n-{api_url,<<"${MIRROR}/api">>}.\n+{mirror_url,<<"${other}">>}.\n+{api_url,<<"${other}/api">>}.`,
    );
  });
});

describe('setup and symbolic links', () => {
  const dotfiles = () => join(home, 'dotfiles');
  const BASHRC = `export GITHUB_TOKEN=ghp_linked\n${DEBIAN_BASHRC}`;
  const PROFILE = '# managed by my dotfiles\nexport PATH="$HOME/bin:$PATH"\n';

  /** ~/.bashrc (a relative link) and ~/.profile (an absolute one) pointing into ~/dotfiles, as dotfile managers make them. */
  async function linkDotfiles(): Promise<void> {
    await mkdir(dotfiles());
    await writeFile(join(dotfiles(), 'bashrc'), BASHRC, { mode: 0o640 });
    await writeFile(join(dotfiles(), 'profile'), PROFILE, { mode: 0o600 });
    await chmod(join(dotfiles(), 'bashrc'), 0o640);
    await chmod(join(dotfiles(), 'profile'), 0o600);
    await rm(join(home, '.bashrc'));
    await symlink('dotfiles/bashrc', join(home, '.bashrc'));
    await symlink(join(dotfiles(), 'profile'), join(home, '.profile'));
  }

  async function expectLinksAsMade(): Promise<void> {
    expect((await lstat(join(home, '.bashrc'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(home, '.bashrc'))).toBe('dotfiles/bashrc');
    expect((await lstat(join(home, '.profile'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(home, '.profile'))).toBe(join(dotfiles(), 'profile'));
    expect((await stat(join(dotfiles(), 'bashrc'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(dotfiles(), 'profile'))).mode & 0o777).toBe(0o600);
    // The temporary files of the atomic writes went into the targets' folder and are gone.
    expect((await readdir(dotfiles())).sort()).toEqual(['bashrc', 'profile']);
  }

  it('writes through symlinked ~/.bashrc and ~/.profile into their targets, and undo leaves the links and targets as they were', async () => {
    await linkDotfiles();
    const applied = await setup(['--mirror-url', MIRROR]);
    expect(applied.code, applied.stderr).toBe(0);
    await expectLinksAsMade();
    const bashrc = await readFile(join(dotfiles(), 'bashrc'), 'utf8');
    expect(bashrc.startsWith('# >>> hexhub >>>')).toBe(true);
    expect(bashrc.endsWith(BASHRC)).toBe(true);
    expect(await readFile(join(dotfiles(), 'profile'), 'utf8')).toContain(`export HEX_CDN='${MIRROR}'`);
    expect(shellSees(['bash', '-c', 'source ~/.bashrc; echo HEX_MIRROR=$HEX_MIRROR'], 'HEX_MIRROR')).toBe(MIRROR);
    expect((await setup(['--mirror-url', MIRROR])).stdout).toMatch(/everything already points at this mirror/);

    const undone = await setup(['--undo']);
    expect(undone.code, undone.stderr).toBe(0);
    await expectLinksAsMade();
    expect(await readFile(join(dotfiles(), 'bashrc'), 'utf8')).toBe(BASHRC);
    expect(await readFile(join(dotfiles(), 'profile'), 'utf8')).toBe(PROFILE);
  });

  it('does not undo through a link that now points elsewhere', async () => {
    await linkDotfiles();
    expect((await setup(['--mirror-url', MIRROR])).code).toBe(0);
    await writeFile(join(dotfiles(), 'other-profile'), PROFILE);
    await rm(join(home, '.profile'));
    await symlink(join(dotfiles(), 'other-profile'), join(home, '.profile'));
    const before = await snapshot(home);
    const undone = await setup(['--undo']);
    expect(undone.code).not.toBe(0);
    expect(undone.stderr).toContain(`${join(home, '.profile')} is no longer a symbolic link to ${join(dotfiles(), 'profile')}`);
    const after = await snapshot(home);
    for (const [path, bytes] of before) expect(after.get(path)!.equals(bytes), path).toBe(true);
  });

  it('writes one block, once, into a file two startup files link to', async () => {
    await writeFile(join(home, '.profile'), PROFILE);
    await symlink('.profile', join(home, '.bash_profile'));
    expect((await setup(['--mirror-url', MIRROR])).code).toBe(0);
    expect(await readlink(join(home, '.bash_profile'))).toBe('.profile');
    expect((await readFile(join(home, '.profile'), 'utf8')).split('# >>> hexhub >>>')).toHaveLength(2);
    expect(shellSees(['bash', '-lc', 'echo HEX_MIRROR=$HEX_MIRROR'], 'HEX_MIRROR')).toBe(MIRROR);
    expect((await setup(['--undo'])).code).toBe(0);
    expect(await readFile(join(home, '.profile'), 'utf8')).toBe(PROFILE);
    expect(await readlink(join(home, '.bash_profile'))).toBe('.profile');
  });

  it('refuses a dangling link or a link loop, changing nothing', async () => {
    await symlink('dotfiles/profile', join(home, '.profile'));
    await symlink('.zshenv', join(home, '.zshenv'));
    const before = await snapshot(home);
    const result = await setup(['--mirror-url', MIRROR]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${join(home, '.profile')} is a symbolic link to dotfiles/profile, which does not exist`);
    expect(result.stderr).toContain(`${join(home, '.zshenv')} is a symbolic link that loops`);
    const after = await snapshot(home);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [path, bytes] of before) expect(after.get(path)!.equals(bytes), path).toBe(true);
    expect(existsSync(join(home, 'data/setup-backups'))).toBe(false);
  });
});

describe('setup and the Hex API (HEX_API_URL, api_url)', () => {
  it('sets HEX_API_URL in every shell block and api_url in hex.config, shows them in the state, and undo takes them out', async () => {
    const before = await snapshot(home);
    const first = await setup(['--mirror-url', MIRROR]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Hex API: +https:\/\/hex\.pm\/api +\[default; not this mirror\]/);

    const api = `${MIRROR}/api`;
    expect(shellSees(['bash', '-c', 'source ~/.bashrc; echo HEX_API_URL=$HEX_API_URL'], 'HEX_API_URL')).toBe(api);
    expect(shellSees(['sh', '-lc', 'echo HEX_API_URL=$HEX_API_URL'], 'HEX_API_URL')).toBe(api);
    if (requireTool('zsh', 'apt-get install zsh')) expect(shellSees(['zsh', '-c', 'echo HEX_API_URL=$HEX_API_URL'], 'HEX_API_URL')).toBe(api);
    if (requireTool('fish', 'apt-get install fish')) expect(shellSees(['fish', '-c', 'echo HEX_API_URL=$HEX_API_URL'], 'HEX_API_URL')).toBe(api);
    if (hasTool('erl', ['-noshell', '-eval', 'halt().'])) {
      const consult = spawnSync(
        'erl',
        ['-noshell', '-eval', `{ok,T}=file:consult("${join(home, '.hex/hex.config')}"), io:format("~p", [proplists:get_value(api_url, T)]), halt().`],
        { encoding: 'utf8' },
      );
      expect(consult.stdout).toBe(`<<"${api}">>`);
    }

    const state = await setup(['--mirror-url', MIRROR, '--dry-run']);
    expect(state.stdout).toMatch(/Hex API: +http:\/\/127\.0\.0\.1:4567\/api +\[.*hex\.config; this mirror\]/);
    expect(state.stdout).toMatch(/nothing to change/);
    // The environment wins over hex.config, as in Hex.
    expect((await setup(['--mirror-url', MIRROR, '--dry-run'], { HEX_API_URL: 'https://hex.pm/api' })).stdout).toMatch(
      /Hex API: +https:\/\/hex\.pm\/api +\[environment \(HEX_API_URL\); not this mirror\]/,
    );

    expect((await setup(['--undo'])).code).toBe(0);
    const after = await snapshot(home);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [path, bytes] of before) expect(after.get(path)!.equals(bytes), path).toBe(true);
    expect((await setup(['--mirror-url', MIRROR, '--dry-run'])).stdout).toMatch(/Hex API: +https:\/\/hex\.pm\/api +\[default; not this mirror\]/);
  });

  it('leaves HEX_API_URL and api_url alone for a mirror reached over plain http across the network (API keys would travel in clear)', async () => {
    for (const [url, routed] of [
      ['http://hexhub.internal:4000', false],
      ['http://10.1.2.3:4000', false],
      ['https://hexhub.internal', true],
      ['http://localhost:4000', true],
    ] as const) {
      const applied = await setup(['--mirror-url', url]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(shellSees(['bash', '-c', 'source ~/.bashrc; echo HEX_MIRROR=$HEX_MIRROR'], 'HEX_MIRROR'), url).toBe(url);
      expect(shellSees(['bash', '-c', 'source ~/.bashrc; echo HEX_API_URL=$HEX_API_URL'], 'HEX_API_URL'), url).toBe(routed ? `${url}/api` : '');
      expect((await readFile(join(home, '.hex/hex.config'), 'utf8')).includes('api_url'), url).toBe(routed);
      expect((await setup(['--undo'])).code).toBe(0);
    }
  });

  it('replaces an api_url entry where it stands, every other entry byte for byte', async () => {
    const config = `{api_key,<<"0123456789abcdef">>}.\n{api_url, <<"https://hex.pm/api">>}. % set by hand\n{unsafe_https,false}.\n`;
    await writeFile(join(home, '.hex/hex.config'), config);
    expect((await setup(['--mirror-url', MIRROR])).code).toBe(0);
    expect(await readFile(join(home, '.hex/hex.config'), 'utf8')).toBe(
      `{api_key,<<"0123456789abcdef">>}.\n{api_url,<<"${MIRROR}/api">>}. % set by hand\n{unsafe_https,false}.\n{mirror_url,<<"${MIRROR}">>}.\n`,
    );
    expect((await setup(['--undo'])).code).toBe(0);
    expect(await readFile(join(home, '.hex/hex.config'), 'utf8')).toBe(config);
  });
});

describe('rebar3 in the state, as rebar3 3.19 reads it', () => {
  const rebarConfig = () => join(home, '.config/rebar3/rebar.config');

  /** The rebar3 line `setup --dry-run` prints: URL, where it comes from, whether it is this mirror. */
  async function rebar3Line(env: Record<string, string> = {}): Promise<string> {
    const result = await setup(['--mirror-url', MIRROR, '--dry-run'], env);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout.split('\n').find((line) => line.startsWith('rebar3:'))!;
  }

  it('counts HEX_CDN alone: rebar_packages_cdn in the global rebar.config and HEX_MIRROR are not this mirror', async () => {
    await mkdir(join(home, '.config/rebar3'), { recursive: true });
    await writeFile(rebarConfig(), `{rebar_packages_cdn, "${MIRROR}"}.\n`);
    expect(await rebar3Line()).toMatch(
      new RegExp(
        `^rebar3: +https://repo\\.hex\\.pm +\\[default: rebar3 3\\.19 reads only HEX_CDN, not rebar_packages_cdn in ${rebarConfig().replace(/[.]/g, '\\.')}; not this mirror\\]$`,
      ),
    );
    expect(await rebar3Line({ HEX_MIRROR: MIRROR })).toMatch(
      /^rebar3: +https:\/\/repo\.hex\.pm +\[default: rebar3 3\.19 reads only HEX_CDN, not HEX_MIRROR or rebar_packages_cdn in .*; not this mirror\]$/,
    );
    expect(await rebar3Line({ HEX_CDN: MIRROR })).toMatch(/^rebar3: +http:\/\/127\.0\.0\.1:4567 +\[environment \(HEX_CDN\); this mirror\]$/);
  });

  const rebar319 =
    requireTool('rebar3', 'apt-get install erlang-nox rebar3', ['version']) &&
    /^rebar 3\.19\./.test(spawnSync('rebar3', ['version'], { encoding: 'utf8' }).stdout);
  it.runIf(rebar319)('names the URL the installed rebar3 3.19 resolves for hexpm, whatever is set', async () => {
    const project = join(home, 'proj');
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'rebar.config'), '{deps, [{setupdep, "1.0.0"}]}.\n');
    await writeFile(join(project, 'src/proj.app.src'), '{application, proj, [{vsn, "0.1.0"}, {applications, [kernel, stdlib]}]}.\n');
    await mkdir(join(home, '.config/rebar3'), { recursive: true });
    await writeFile(rebarConfig(), `{rebar_packages_cdn, "${MIRROR}"}.\n`);
    /** Where rebar3 would fetch the package record from. REBAR_OFFLINE: it says so and asks no one. */
    const rebar3Asks = (env: Record<string, string>) => {
      const run = spawnSync('rebar3', ['get-deps'], {
        cwd: project,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: home, DEBUG: '1', REBAR_OFFLINE: '1', ...env },
      });
      const url = /\{offline,\s*<<"([^"]*)\/packages\/setupdep">>\}/.exec(run.stdout + run.stderr)?.[1];
      expect(url, run.stdout + run.stderr).toBeDefined();
      return url!;
    };
    const cases: Record<string, string>[] = [{}, { HEX_MIRROR: MIRROR }, { HEX_CDN: MIRROR }];
    for (const env of cases) {
      const shown = /^rebar3: +(\S+)/.exec(await rebar3Line(env))![1];
      expect(shown, JSON.stringify(env)).toBe(rebar3Asks(env));
    }
  });
});

describe('setup backups', () => {
  /** Every folder and file under the backups: its permission bits, and whether it is a folder. */
  async function modes(root: string): Promise<{ path: string; folder: boolean; mode: number }[]> {
    const paths = [root, ...(await readdir(root, { recursive: true })).map((name) => join(root, name))];
    return Promise.all(paths.map(async (path) => ({ path, ...(await stat(path).then((s) => ({ folder: s.isDirectory(), mode: s.mode & 0o777 }))) })));
  }

  function expectPrivate(found: { path: string; folder: boolean; mode: number }[]): void {
    for (const { path, folder, mode } of found) expect(mode.toString(8), path).toBe(folder ? '700' : '600');
  }

  it('keeps the copies of startup files readable by their owner only, also those of older versions once touched', async () => {
    const root = join(home, 'data/setup-backups');
    expect((await setup(['--mirror-url', MIRROR])).code).toBe(0);
    const made = await modes(root);
    expect(made.filter((f) => f.folder)).toHaveLength(3); // setup-backups, the run, files/
    expect(made.filter((f) => !f.folder)).toHaveLength(3); // the manifest, and copies of hex.config and .bashrc
    expectPrivate(made);

    // As an older version left them: readable by everyone.
    for (const { path, folder } of made) await chmod(path, folder ? 0o755 : 0o644);
    expect((await setup(['--undo'])).code).toBe(0);
    expectPrivate(await modes(root));
  });
});

describe.runIf(requireTool('rebar3', 'apt-get install erlang-nox rebar3', ['version']))('rebar3 after setup', () => {
  it('fetches through the mirror because of the setup alone', async () => {
    const repo = new FixtureRepo();
    await repo.publish({ name: 'setupdep', version: '1.0.0' });
    const upstream = await startFakeUpstream(repo);
    const dataDir = await mkdtemp(join(tmpdir(), 'hexhub-setup-data-'));
    dirs.push(dataDir);
    const mirror = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
    try {
      expect((await setup(['--mirror-url', mirror.url])).code).toBe(0);
      await mkdir(join(home, '.config/rebar3'), { recursive: true });
      await writeFile(
        join(home, '.config/rebar3/rebar.config'),
        `{hex, [{repos, [#{name => <<"hexpm">>, repo_public_key => <<"${testKeys().publicKeyPem.trim()}">>}]}]}.\n`,
      );
      const project = join(home, 'proj');
      await mkdir(join(project, 'src'), { recursive: true });
      await writeFile(join(project, 'rebar.config'), '{deps, [{setupdep, "1.0.0"}]}.\n');
      await writeFile(join(project, 'src/proj.app.src'), '{application, proj, [{vsn, "0.1.0"}, {applications, [kernel, stdlib]}]}.\n');
      // A login shell, as a terminal or an IDE would start it: nothing but HOME and PATH given.
      const output = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('bash', ['-lc', `cd ${project} && rebar3 compile`], { env: { PATH: process.env.PATH, HOME: home } });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
      expect(output.code, output.out).toBe(0);
      expect(output.out).toMatch(/Compiling setupdep/);
      expect(upstream.countRequests('/tarballs/setupdep-1.0.0.tar')).toBe(1);
      expect(existsSync(join(dataDir, 'cache/tarballs/setupdep-1.0.0.tar'))).toBe(true);
    } finally {
      mirror.child.kill('SIGTERM');
      await mirror.exited;
      await upstream.close();
    }
  });
});

describe('hex.config among the files setup shows', () => {
  const context = () => ({ env: homeEnv({ PATH: process.env.PATH ?? '' }), home, dataDir: join(home, 'data'), mirrorUrl: MIRROR });
  const hexConfig = () => join(home, '.hex/hex.config');

  it('lists hex.config in the state and in the changes of a dry run and an apply, with only its entries in the diff', async () => {
    await writeSecretHome();
    const state = await inspectSetup(context());
    expect(state.files[0]).toEqual({ path: hexConfig(), why: expect.stringMatching(/mirror_url/), exists: true });
    const dry = await planSetup(context());
    const applied = await applySetup(context());
    for (const changes of [dry, applied.changes]) {
      const change = changes.find((c) => c.path === hexConfig());
      expect(change, 'hex.config listed').toBeDefined();
      expect(change!.diff).toContain(`+{mirror_url,<<"${MIRROR}">>}.\n+{api_url,<<"${MIRROR}/api">>}.`);
      expectNoSecrets(change!.diff);
    }
    expect((await inspectSetup(context())).files[0]).toMatchObject({ path: hexConfig(), mirrorUrl: MIRROR });
  });

  it('lists hex.config alone when it is the only file that changes', async () => {
    await applySetup(context());
    // Someone points Hex elsewhere by hand (`mix hex.config mirror_url …`); the startup files still point here.
    const edited = (await readFile(hexConfig(), 'utf8')).replace(`{mirror_url,<<"${MIRROR}">>}.`, '{mirror_url,<<"https://elsewhere.example">>}.');
    await writeFile(hexConfig(), edited);
    const state = await inspectSetup(context());
    expect(state.applied).toBe(false);
    expect(state.files[0]).toMatchObject({ path: hexConfig(), mirrorUrl: 'https://elsewhere.example' });
    const changes = await planSetup(context());
    expect(changes.map((c) => c.path)).toEqual([hexConfig()]);
    expect(changes[0]!.diff).toContain(`-{mirror_url,<<"https://elsewhere.example">>}.\n+{mirror_url,<<"${MIRROR}">>}.`);
    expect(changes[0]!.diff).not.toContain('api_key');
    expect((await applySetup(context())).changes.map((c) => c.path)).toEqual([hexConfig()]);
  });
});
