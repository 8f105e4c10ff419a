// The real Hex client: Debian's rebar3 (hex_core inside, signature and origin checks on)
// builds a project with a hex dependency and a transitive one through the mirror, first cold,
// then again from a clean client cache with the upstream stopped.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, upstreamEnv, type ServeProcess } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, testKeys } from '../support/hex-fixtures.js';
import { removeDir } from '../support/mirror.js';
import { requireTool } from '../support/tools.js';

const enabled = requireTool('rebar3', 'apt-get install erlang-nox rebar3', ['version']);

describe.runIf(enabled)('rebar3 through the mirror', () => {
  let repo: FixtureRepo;
  let upstream: FakeUpstream;
  let mirror: ServeProcess;
  let home: string;
  let project: string;
  let dataDir: string;

  /**
   * rebar3 in a HOME of its own, so only the mirror can have served it. Asynchronous: the
   * fake upstream lives in this process and must keep answering while rebar3 runs.
   */
  function rebar3(args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn('rebar3', args, {
        cwd: project,
        env: { PATH: process.env.PATH, HOME: home, HEX_CDN: mirror.url, REBAR_COLOR: 'none' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  beforeAll(async () => {
    repo = new FixtureRepo();
    await repo.publish({ name: 'hexleaf', version: '1.0.0' });
    await repo.publish({ name: 'hexleaf', version: '1.2.3' });
    await repo.publish({ name: 'hexleaf', version: '2.0.0' });
    await repo.publish({ name: 'hexmid', version: '0.4.0', deps: [{ name: 'hexleaf', requirement: '~> 1.0' }] });
    upstream = await startFakeUpstream(repo);
    home = await mkdtemp(join(tmpdir(), 'hexhub-rebar3-home-'));
    dataDir = await mkdtemp(join(tmpdir(), 'hexhub-rebar3-data-'));
    project = join(home, 'app');
    // rebar3 3.19 takes a non-hex.pm signing key only from the global config.
    await mkdir(join(home, '.config/rebar3'), { recursive: true });
    const pem = testKeys().publicKeyPem.replace(/\n$/, '');
    await writeFile(join(home, '.config/rebar3/rebar.config'), `{hex, [{repos, [#{name => <<"hexpm">>, repo_public_key => <<"${pem}">>}]}]}.\n`);
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'rebar.config'), '{deps, [{hexmid, "~> 0.4"}]}.\n');
    await writeFile(
      join(project, 'src/app.app.src'),
      '{application, app, [{description, "test app"}, {vsn, "0.1.0"}, {applications, [kernel, stdlib, hexmid]}, {env, []}, {modules, []}]}.\n',
    );
    await writeFile(join(project, 'src/app.erl'), '-module(app).\n-export([run/0]).\nrun() -> hexmid:hello().\n');
    mirror = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
  });

  afterAll(async () => {
    mirror?.child.kill('SIGTERM');
    await mirror?.exited;
    await upstream?.close();
    await removeDir(home);
    await removeDir(dataDir);
  });

  it('builds cold through the mirror, with the registry signed by the configured key', async () => {
    const result = await rebar3(['compile']);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Compiling hexmid/);
    expect(result.output).toMatch(/Compiling hexleaf/);
    const lock = await readFile(join(project, 'rebar.lock'), 'utf8');
    // The transitive dep resolved to the newest ~> 1.0 release, and rebar3 recorded the
    // registry's outer checksum for both.
    expect(lock).toMatch(/<<"hexleaf">>,\{pkg,<<"hexleaf">>,<<"1\.2\.3">>\}/);
    expect(lock.toLowerCase()).toContain(repo.release('hexleaf', '1.2.3')!.outerChecksum);
    expect(lock.toLowerCase()).toContain(repo.release('hexmid', '0.4.0')!.outerChecksum);
    expect(upstream.countRequests('/tarballs/')).toBe(2);
    const run = spawnSync('erl', ['-noshell', '-pa', ...['app', 'hexmid', 'hexleaf'].map((a) => join(project, `_build/default/lib/${a}/ebin`)), '-eval', 'io:format("~p", [app:run()]), halt().'], { encoding: 'utf8' });
    expect(run.stdout).toContain('hexmid');
  });

  it('builds again from a clean client cache with the upstream stopped', async () => {
    await upstream.stop();
    await rm(join(project, '_build'), { recursive: true, force: true });
    await rm(join(home, '.cache/rebar3'), { recursive: true, force: true });
    const result = await rebar3(['compile']);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Compiling hexleaf/);
  });
});
