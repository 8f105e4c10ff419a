// `hexhub setup` on a temporary HOME with real files: apply, re-apply, undo, the shells
// reading what it wrote, refusals that leave everything as it was, and rebar3 using the
// mirror because of the setup alone.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
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
      if (entry.isDirectory()) await walk(path);
      else files.set(path, await readFile(path));
    }
  };
  await walk(root);
  return files;
}

function setup(args: string[], env: Record<string, string> = {}) {
  return run(['setup', '--data-dir', join(home, 'data'), ...args], { HOME: home, SHELL: '/bin/bash', XDG_CONFIG_HOME: '', ZDOTDIR: '', HEX_HOME: '', MIX_XDG: '', HEX_MIRROR: '', HEX_CDN: '', ...env });
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
    expect(config).toBe(`${HEX_CONFIG}{mirror_url,<<"${MIRROR}">>}.\n`);
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
    expect(config).toBe(`${HEX_CONFIG}{mirror_url,<<"http://127.0.0.1:9999">>}.\n`);
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
      const consult = spawnSync('erl', ['-noshell', '-eval', `{ok,T}=file:consult("${join(home, '.hex/hex.config')}"), io:format("~p", [proplists:get_value(mirror_url, T)]), halt().`], { encoding: 'utf8' });
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
