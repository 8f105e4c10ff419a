// `./bin/hexhub serve` as a real process: its start-up contract, configuration errors,
// clean shutdown mid-download, and a SIGKILL that must leave the cache consistent.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, serve, upstreamEnv } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { readIndexEntries } from '../support/index-file.js';
import { removeDir } from '../support/mirror.js';

let repo: FixtureRepo;
let upstream: FakeUpstream;
const dirs: string[] = [];

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hexhub-cli-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  repo = new FixtureRepo();
  for (let i = 0; i < 20; i++) await repo.publish({ name: `pkg${i}`, version: '1.0.0', description: `package ${i} `.repeat(50 + i) });
  upstream = await startFakeUpstream(repo);
});

afterAll(async () => {
  await upstream.close();
  await Promise.all(dirs.map(removeDir));
});

describe('hexhub serve', () => {
  it('prints the listening line and a one-time dashboard sign-in link on --port 0, serves, and exits 0 on SIGTERM', async () => {
    const dir = await dataDir();
    const server = await serve(['--port', '0', '--data-dir', dir], upstreamEnv(upstream.url, { HEXHUB_PORT: '1' }));
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const reply = await httpGet(server.url, '/tarballs/pkg0-1.0.0.tar');
    expect(reply.body.equals(repo.release('pkg0', '1.0.0')!.bytes)).toBe(true);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const [listening, signIn, ...rest] = server.stdout().split('\n');
    expect(listening).toBe(`HexHub mirror listening on ${server.url}`);
    expect(signIn).toMatch(
      new RegExp(`^Dashboard sign-in link \\(works once, within 15 minutes; \`hexhub dashboard\` makes another\\): ${server.url}/-/login\\?code=[\\w-]{43}$`),
    );
    expect(rest).toEqual(['']);
    // Logs are JSON lines on stderr, one per upstream fetch with outcome and timing.
    const fetches = server
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'upstream_fetch');
    // The record and the tarball are fetched at once (a cold registry), so either may end first.
    expect(fetches.map((l) => `${String(l.kind)} ${String(l.outcome)}`).sort()).toEqual(['registry stored', 'tarball stored']);
    expect(fetches.every((l) => typeof l.ms === 'number')).toBe(true);
    expect(Object.keys(await readIndexEntries(dir)).sort()).toEqual(['registry/packages/pkg0', 'tarballs/pkg0-1.0.0.tar']);
  });

  it('is the same through `npm run serve --`', async () => {
    const dir = await dataDir();
    const child = spawn('npm', ['run', '--silent', 'serve', '--', '--port', '0', '--data-dir', dir], {
      env: { ...process.env, ...upstreamEnv(upstream.url) },
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    const line = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out);
      });
    });
    // The sign-in line may arrive in the same chunk: only the first line is this test's.
    expect(line.split('\n')[0]).toMatch(/^HexHub mirror listening on http:\/\/127\.0\.0\.1:\d+$/);
    process.kill(-child.pid!, 'SIGTERM');
  });

  it('aborts downloads in flight on SIGTERM without leaving partial files, and flushes the index', async () => {
    const dir = await dataDir();
    upstream.fault.bytesPerSecond(2_000, { path: '/tarballs/pkg19' });
    const server = await serve(['--port', '0', '--data-dir', dir], upstreamEnv(upstream.url));
    const download = httpGet(server.url, '/tarballs/pkg19-1.0.0.tar');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await readdir(join(dir, 'tmp'))).toHaveLength(1);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const reply = await download;
    expect(reply.error ?? (reply.status >= 500 ? 'failed' : undefined)).toBeDefined();
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect(await readdir(join(dir, 'cache'))).toEqual(['registry']);
    expect(Object.keys(await readIndexEntries(dir))).toEqual(['registry/packages/pkg19']);
    upstream.fault.clear();
  });

  it('keeps the cache consistent when killed with SIGKILL during concurrent cold downloads', async () => {
    const dir = await dataDir();
    upstream.fault.bytesPerSecond(200_000, { path: '/tarballs/' });
    const server = await serve(['--port', '0', '--data-dir', dir], upstreamEnv(upstream.url));
    const downloads = Array.from({ length: 20 }, (_, i) => httpGet(server.url, `/tarballs/pkg${i}-1.0.0.tar`));
    await new Promise((resolve) => setTimeout(resolve, 250));
    server.child.kill('SIGKILL');
    await server.exited;
    await Promise.all(downloads);
    upstream.fault.clear();

    const again = await serve(['--port', '0', '--data-dir', dir], upstreamEnv(upstream.url));
    // Every stored tarball is whole and verified; no temporary file survived the restart.
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    const stored = await readdir(join(dir, 'cache/tarballs')).catch(() => [] as string[]);
    for (const file of stored) {
      const name = file.replace(/-1\.0\.0\.tar$/, '');
      const bytes = await readFile(join(dir, 'cache/tarballs', file));
      expect(createHash('sha256').update(bytes).digest('hex'), file).toBe(repo.release(name, '1.0.0')!.outerChecksum);
    }
    for (let i = 0; i < 20; i++) {
      const reply = await httpGet(again.url, `/tarballs/pkg${i}-1.0.0.tar`);
      expect(reply.body.equals(repo.release(`pkg${i}`, '1.0.0')!.bytes)).toBe(true);
    }
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    expect(Object.keys(await readIndexEntries(dir)).filter((k) => k.startsWith('tarballs/'))).toHaveLength(20);
  });

  it('fails at start with a message naming the variable for every invalid setting', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ UPSTREAM_TIMEOUT: 'abc' }, /UPSTREAM_TIMEOUT/],
      [{ UPSTREAM_URL: 'ftp://example.com' }, /UPSTREAM_URL: must be an http/],
      [{ UPSTREAM_ENABLED: 'maybe' }, /UPSTREAM_ENABLED/],
      [{ UPSTREAM_RETRY_ATTEMPTS: '-1' }, /UPSTREAM_RETRY_ATTEMPTS/],
      [{ UPSTREAM_RETRY_DELAY: '1.5' }, /UPSTREAM_RETRY_DELAY/],
      [{ UPSTREAM_PUBLIC_KEY: '/nonexistent/key.pem' }, /UPSTREAM_PUBLIC_KEY/],
      [{ UPSTREAM_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----' }, /UPSTREAM_PUBLIC_KEY: not a valid PEM/],
      [{ UPSTREAM_REPO_NAME: 'Bad Name' }, /UPSTREAM_REPO_NAME/],
      [{ UPSTREAM_BUILDS_URL: 'not a url' }, /UPSTREAM_BUILDS_URL/],
      [{ UPSTREAM_API_URL: 'file:///etc' }, /UPSTREAM_API_URL/],
      [{ HEXHUB_PORT: '99999' }, /HEXHUB_PORT/],
      [{ HEXHUB_REGISTRY_TTL: 'soon' }, /HEXHUB_REGISTRY_TTL/],
    ];
    const dir = await dataDir();
    for (const [env, message] of cases) {
      const result = await run(['serve', '--data-dir', dir], { HEXHUB_PORT: '0', ...env });
      expect(result.code, JSON.stringify(env)).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
  });

  it('says plainly when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const result = await run(['serve', '--port', String(port), '--data-dir', await dataDir()], upstreamEnv(upstream.url));
    blocker.close();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`port ${port} .* already in use`));
  });
});
