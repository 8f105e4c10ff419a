// `hexhub prewarm`, `verify` and `status` as real processes: on their own, and handing
// work to a server that owns the data dir.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../src-shared/api-client.js';
import { acquireDataDirLock } from '../../src-main/store/data-dir-lock.js';
import { HEXHUB, run, serve, upstreamEnv } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { removeDir } from '../support/mirror.js';
import { hasTool } from '../support/tools.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hexhub-cmd-'));
  dirs.push(dir);
  return dir;
}

async function mixLock(dir: string, overrides: { mimeOuter?: string } = {}): Promise<string> {
  const plug = repo.release('plug', '1.14.0')!;
  const mime = repo.release('mime', '2.0.5')!;
  const path = join(dir, 'mix.lock');
  await writeFile(
    path,
    [
      '%{',
      `  "plug": {:hex, :plug, "1.14.0", "${plug.innerChecksum}", [:mix], [{:mime, "~> 2.0", [hex: :mime, repo: "hexpm", optional: false]}], "hexpm", "${plug.outerChecksum}"},`,
      `  "mime": {:hex, :mime, "2.0.5", "${mime.innerChecksum}", [:mix], [], "hexpm", "${overrides.mimeOuter ?? mime.outerChecksum}"},`,
      '  "local_dep": {:path, "../local_dep"},',
      '  "private": {:git, "https://example.com/private.git", "0123abcd", [branch: "main"]},',
      '}',
      '',
    ].join('\n'),
  );
  return path;
}

beforeAll(async () => {
  repo = new FixtureRepo();
  await repo.publish({ name: 'mime', version: '2.0.5' });
  await repo.publish({ name: 'plug', version: '1.14.0', deps: [{ name: 'mime', requirement: '~> 2.0' }] });
  await repo.publish({ name: 'jason', version: '1.4.1' });
  upstream = await startFakeUpstream(repo);
});

afterAll(async () => {
  await upstream.close();
  await Promise.all(dirs.map(removeDir));
});

describe('hexhub prewarm', () => {
  it('fills the cache from a mix.lock, printing plain lines when not on a terminal', async () => {
    const dataDir = await tempDir();
    const result = await run(['prewarm', await mixLock(dataDir), '--data-dir', dataDir, '--concurrency', '2'], upstreamEnv(upstream.url));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^fetched (plug 1\.14\.0|mime 2\.0\.5) \(\d+(\.\d+)? KiB\)$/m);
    expect(result.stdout).toMatch(/pre-warm done: 2 fetched, 0 already cached, 0 failed/);
    expect(result.stdout).toMatch(/skipped local_dep: path dependency/);
    expect(result.stdout).toMatch(/skipped private: git dependency/);
    expect((await readdir(join(dataDir, 'cache/tarballs'))).sort()).toEqual(['mime-2.0.5.tar', 'plug-1.14.0.tar']);

    const again = await run(['prewarm', join(dataDir, 'mix.lock'), '--data-dir', dataDir], upstreamEnv(upstream.url));
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 fetched, 2 already cached/);
  });

  it('warns when the lock disagrees with the registry, naming the package, and succeeds: every release was fetched', async () => {
    const dataDir = await tempDir();
    const lock = await mixLock(dataDir, { mimeOuter: 'f'.repeat(64) });
    const result = await run(['prewarm', lock, '--data-dir', dataDir], upstreamEnv(upstream.url));
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/pre-warm done: 2 fetched/);
    expect(result.stdout).toMatch(
      /warning mime: the lock file's checksum for 2\.0\.5 differs from the registry's.*\n +2\.0\.5: lock outer checksum f+ differs from the registry's/,
    );
  });

  it('takes package names with versions or requirements, and fails on unknown ones', async () => {
    const dataDir = await tempDir();
    const ok = await run(['prewarm', 'plug@~> 1.14', 'jason', '--data-dir', dataDir], upstreamEnv(upstream.url));
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/3 fetched/);
    const bad = await run(['prewarm', 'nosuchpkg', '--data-dir', dataDir], upstreamEnv(upstream.url));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/problem nosuchpkg/);
    const invalid = await run(['prewarm', 'Not A Package', '--data-dir', dataDir], upstreamEnv(upstream.url));
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/packages:/);
  });

  it('hands the job to a server running on the same data dir, which then shows it', async () => {
    const dataDir = await tempDir();
    const server = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
    try {
      const result = await run(['prewarm', await mixLock(dataDir), '--data-dir', dataDir], upstreamEnv(upstream.url));
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`handing the job to the server running on this data dir (${server.url})`);
      const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
      const api = createApiClient({ baseUrl: server.url, token });
      const jobs = await api.jobs();
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.state).toBe('done');
      expect((await api.listCache()).items.map((i) => i.name)).toEqual(['mime', 'plug']);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('draws a progress bar on a terminal', async () => {
    if (!hasTool('script', ['--version'])) return void console.warn('SKIPPED: util-linux `script` is not installed');
    const dataDir = await tempDir();
    const lock = await mixLock(dataDir);
    const env = { ...process.env, ...upstreamEnv(upstream.url), HEXHUB_LOG_LEVEL: 'silent' };
    const output = await new Promise<string>((resolve) => {
      const child = spawn('script', ['-qec', `${HEXHUB} prewarm ${lock} --data-dir ${dataDir}`, '/dev/null'], { env });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('exit', () => resolve(out));
    });
    expect(output).toMatch(/[░█]+ \d\/2 releases/);
    expect(output).toMatch(/pre-warm done/);
  });
});

describe('hexhub verify and status', () => {
  it('verify passes on a sound cache, fails on a damaged file and quarantines it', async () => {
    const dataDir = await tempDir();
    await run(['prewarm', 'jason', '--data-dir', dataDir], upstreamEnv(upstream.url));
    // verify checks records and tarballs against the configured upstream key, like serve does.
    const clean = await run(['verify', '--data-dir', dataDir], upstreamEnv(upstream.url));
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/verified 2 stored files .*: 2 ok, 0 damaged/);
    const file = join(dataDir, 'cache/tarballs/jason-1.4.1.tar');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 10));
    const damaged = await run(['verify', '--data-dir', dataDir], upstreamEnv(upstream.url));
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/tarballs\/jason-1\.4\.1\.tar: size \d+ differs/);
    expect(damaged.stdout).toMatch(/quarantined: quarantine\//);
    expect((await run(['verify', '--data-dir', dataDir], upstreamEnv(upstream.url))).code).toBe(0);
  });

  it('status prints what is cached and the disk use, locally and through a server', async () => {
    const dataDir = await tempDir();
    await run(['prewarm', 'plug', '--data-dir', dataDir], upstreamEnv(upstream.url));
    const local = await run(['status', '--data-dir', dataDir]);
    expect(local.code).toBe(0);
    expect(local.stdout).toMatch(/server: not running/);
    expect(local.stdout).toMatch(/cache: 2 packages, 2 releases/);
    expect(local.stdout).toMatch(/^ {2}plug +\d+(\.\d+)? KiB +1\.14\.0$/m);
    const server = await serve(['--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
    try {
      const remote = await run(['status', '--data-dir', dataDir]);
      expect(remote.stdout).toContain(`server: ${server.url} (running)`);
      expect(remote.stdout).toMatch(/cache: 2 packages, 2 releases/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('refuses to start a second owner of a data dir that a command is using', async () => {
    const dataDir = await tempDir();
    const lock = await acquireDataDirLock(dataDir, 'prewarm');
    try {
      const result = await run(['serve', '--port', '0', '--data-dir', dataDir], upstreamEnv(upstream.url));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/data dir is in use by hexhub prewarm \(pid \d+\)/);
    } finally {
      await lock.release();
    }
  });
});
