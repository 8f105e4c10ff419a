// The real Hex client: Debian's rebar3 (hex_core inside, signature and origin checks on)
// builds a project with a hex dependency and a transitive one through the mirror, first cold,
// then again from a clean client cache with the upstream stopped, and, on a filled cache whose
// registry records have all expired, with an upstream that accepts connections but never answers.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, upstreamEnv, type ServeProcess } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { createRebar3Project, type Rebar3Project } from '../support/rebar3.js';
import { removeDir } from '../support/mirror.js';
import { requireTool } from '../support/tools.js';
import { expectBuildDespiteHangingUpstream, publishFixtures } from '../support/client-fixtures.js';

const enabled = requireTool('rebar3', 'apt-get install erlang-nox rebar3', ['version']);

describe.runIf(enabled)('rebar3 through the mirror', () => {
  let repo: FixtureRepo;
  let upstream: FakeUpstream;
  let mirror: ServeProcess;
  let project: Rebar3Project;
  let dataDir: string;
  const rebar3 = (args: string[]) => project.run(args, mirror.url);

  beforeAll(async () => {
    repo = await publishFixtures();
    upstream = await startFakeUpstream(repo);
    project = await createRebar3Project({ hexmid: '~> 0.4' });
    dataDir = await mkdtemp(join(tmpdir(), 'hexhub-rebar3-data-'));
    mirror = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
  });

  afterAll(async () => {
    mirror?.child.kill('SIGTERM');
    await mirror?.exited;
    await upstream?.close();
    await project?.remove();
    await removeDir(dataDir);
  });

  it('builds cold through the mirror, with the registry signed by the configured key', async () => {
    const result = await rebar3(['compile']);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Compiling hexmid/);
    expect(result.output).toMatch(/Compiling hexleaf/);
    const lock = await readFile(join(project.dir, 'rebar.lock'), 'utf8');
    // The transitive dep resolved to the newest ~> 1.0 release, and rebar3 recorded the
    // registry's outer checksum for both.
    expect(lock).toMatch(/<<"hexleaf">>,\{pkg,<<"hexleaf">>,<<"1\.2\.3">>\}/);
    expect(lock.toLowerCase()).toContain(repo.release('hexleaf', '1.2.3')!.outerChecksum);
    expect(lock.toLowerCase()).toContain(repo.release('hexmid', '0.4.0')!.outerChecksum);
    expect(upstream.countRequests('/tarballs/')).toBe(2);
    const run = spawnSync(
      'erl',
      [
        '-noshell',
        '-pa',
        ...['app', 'hexmid', 'hexleaf'].map((a) => join(project.dir, `_build/default/lib/${a}/ebin`)),
        '-eval',
        'io:format("~p", [app:run()]), halt().',
      ],
      { encoding: 'utf8' },
    );
    expect(run.stdout).toContain('hexmid');
  });

  it('builds again from a clean client cache with the upstream stopped', async () => {
    await upstream.stop();
    await project.forgetClientCache();
    const result = await rebar3(['compile']);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Compiling hexleaf/);
  });
});

describe.runIf(enabled)('rebar3 through the mirror with a hanging upstream', () => {
  let upstream: FakeUpstream;
  let mirror: ServeProcess;
  let project: Rebar3Project;
  let dataDir: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream(await publishFixtures());
    project = await createRebar3Project({ hexmid: '~> 0.4' });
    dataDir = await mkdtemp(join(tmpdir(), 'hexhub-rebar3-data-'));
    mirror = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
    const filled = await project.run(['compile'], mirror.url);
    if (filled.code !== 0) throw new Error(`filling the cache failed:\n${filled.output}`);
    mirror.child.kill('SIGTERM');
    await mirror.exited;
    // TTL 0: every stored record must be revalidated. Retries as shipped (upstreamEnv shortens
    // them for the other tests): the mirror must not make the build wait for them.
    mirror = await serve(
      ['--port', '0', '--data-dir', dataDir],
      upstreamEnv(upstream.url, { HEXHUB_REGISTRY_TTL: '0', UPSTREAM_TIMEOUT: '30000', UPSTREAM_RETRY_DELAY: '1000', UPSTREAM_RETRY_ATTEMPTS: '3' }),
    );
  });

  afterAll(async () => {
    // The upstream first: it ends the hanging requests the mirror would otherwise wait on.
    await upstream?.close();
    mirror?.child.kill('SIGTERM');
    await mirror?.exited;
    await project?.remove();
    await removeDir(dataDir);
  });

  it('builds from the cache within 20 s when the upstream hangs and every registry record has expired', async () => {
    await project.forgetClientCache();
    await expectBuildDespiteHangingUpstream(
      'rebar3',
      upstream,
      () => mirror.stderr(),
      (timeoutMs) => project.run(['compile'], mirror.url, { timeoutMs }),
    );
  }, 45_000);
});
