// The real Hex client for mix (Hex 2.5.1, signature and origin checks on) builds a project with a
// hex dependency and a transitive one through `hexhub serve`: cold, again from a fresh Hex cache
// (served from the mirror's cache), with the upstream stopped, and, on a filled cache whose
// registry records have all expired, with an upstream that accepts connections but never answers.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, upstreamEnv, type ServeProcess } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { createMixProject, mixAvailable, type MixProject } from '../support/mix.js';
import { removeDir } from '../support/mirror.js';
import { expectBuildDespiteHangingUpstream, publishFixtures } from '../support/client-fixtures.js';

const enabled = mixAvailable();

/** `hexhub serve` on one data dir, restartable with other settings on the same cache. */
function mirrorOn(dataDir: string, upstream: FakeUpstream) {
  let current: ServeProcess | undefined;
  return {
    get url() {
      return current!.url;
    },
    stderr: () => current?.stderr() ?? '',
    async start(env: Record<string, string> = {}) {
      current = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url, env));
    },
    async stop() {
      current?.child.kill('SIGTERM');
      await current?.exited;
      current = undefined;
    },
  };
}

describe.runIf(enabled)('mix through the mirror', () => {
  let repo: FixtureRepo;
  let upstream: FakeUpstream;
  let mirror: ReturnType<typeof mirrorOn>;
  let project: MixProject;
  let dataDir: string;

  /** Requests for records and tarballs the upstream has seen (the health probe's are left out). */
  const upstreamFetches = () => upstream.requests.filter((r) => /^\/(packages|tarballs)\//.test(r.path)).map((r) => r.path);
  const cacheHits = async (kind: string) => {
    const text = (await httpGet(mirror.url, '/metrics')).body.toString();
    return Number(new RegExp(`^hexhub_cache_hits_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };

  beforeAll(async () => {
    repo = await publishFixtures();
    upstream = await startFakeUpstream(repo);
    project = await createMixProject({ hexmid: '~> 0.4' });
    dataDir = await mkdtemp(join(tmpdir(), 'hexhub-mix-data-'));
    mirror = mirrorOn(dataDir, upstream);
    await mirror.start();
  });

  afterAll(async () => {
    await mirror?.stop();
    await upstream?.close();
    await project?.remove();
    await removeDir(dataDir);
  });

  it('builds cold through the mirror, with the registry signed by the configured key', async () => {
    const result = await project.build(mirror.url);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Getting hexmid \(Hex package\)/);
    expect(result.output).toMatch(/Compiling hexleaf/);
    // Each record and tarball came through the mirror, once.
    expect(upstreamFetches().sort()).toEqual(['/packages/hexleaf', '/packages/hexmid', '/tarballs/hexleaf-1.2.3.tar', '/tarballs/hexmid-0.4.0.tar']);
    // The transitive dep resolved to the newest ~> 1.0 release; Hex recorded the registry's inner
    // and outer checksums, which it checked the tarballs against.
    const lock = await readFile(join(project.dir, 'mix.lock'), 'utf8');
    for (const [name, version] of [
      ['hexleaf', '1.2.3'],
      ['hexmid', '0.4.0'],
    ] as const) {
      const release = repo.release(name, version)!;
      expect(lock).toContain(`"${name}": {:hex, :${name}, "${version}", "${release.innerChecksum}"`);
      expect(lock).toContain(`"hexpm", "${release.outerChecksum}"}`);
    }
    const run = await project.run(['run', '-e', 'IO.inspect(App.run())'], mirror.url);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('{:hexmid, "0.4.0", [{:hexleaf, "1.2.3", []}]}');
  });

  it('builds again from a fresh Hex cache, answered from the mirror cache', async () => {
    await project.forgetClientCache();
    const seen = upstreamFetches().length;
    const [registryHits, tarballHits] = [await cacheHits('registry'), await cacheHits('tarball')];
    const result = await project.build(mirror.url);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Compiling hexleaf/);
    // Hex asked for both records and both tarballs again, and the mirror answered them all
    // without the upstream (the records are within HEXHUB_REGISTRY_TTL).
    expect(upstreamFetches().slice(seen)).toEqual([]);
    expect(await cacheHits('registry')).toBe(registryHits + 2);
    expect(await cacheHits('tarball')).toBe(tarballHits + 2);
  });

  it('builds from the lock with the upstream stopped', async () => {
    const lock = await readFile(join(project.dir, 'mix.lock'), 'utf8');
    await upstream.stop();
    await project.forgetClientCache();
    const result = await project.build(mirror.url);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Compiling hexleaf/);
    expect(await readFile(join(project.dir, 'mix.lock'), 'utf8')).toBe(lock);
  });
});

describe.runIf(enabled)('mix through the mirror with a hanging upstream', () => {
  let upstream: FakeUpstream;
  let mirror: ReturnType<typeof mirrorOn>;
  let project: MixProject;
  let dataDir: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream(await publishFixtures());
    project = await createMixProject({ hexmid: '~> 0.4' });
    dataDir = await mkdtemp(join(tmpdir(), 'hexhub-mix-data-'));
    mirror = mirrorOn(dataDir, upstream);
    await mirror.start();
    const filled = await project.build(mirror.url);
    if (filled.code !== 0) throw new Error(`filling the cache failed:\n${filled.output}`);
    await mirror.stop();
    // TTL 0: every stored record must be revalidated. Retries as shipped (upstreamEnv shortens
    // them for the other tests): the mirror must not make the build wait for them.
    await mirror.start({ HEXHUB_REGISTRY_TTL: '0', UPSTREAM_TIMEOUT: '30000', UPSTREAM_RETRY_DELAY: '1000', UPSTREAM_RETRY_ATTEMPTS: '3' });
  });

  afterAll(async () => {
    // The upstream first: it ends the hanging requests the mirror would otherwise wait on.
    await upstream?.close();
    await mirror?.stop();
    await project?.remove();
    await removeDir(dataDir);
  });

  it('builds from the cache within 20 s when the upstream hangs and every registry record has expired', async () => {
    await project.forgetClientCache();
    await expectBuildDespiteHangingUpstream(
      'mix',
      upstream,
      () => mirror.stderr(),
      (timeoutMs) => project.build(mirror.url, { timeoutMs }),
    );
  }, 45_000);
});
