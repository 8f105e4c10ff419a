// `hexhub serve` binds its port before it reads the cache index (about a second at hex.pm's
// 200,000 releases), so a client that connects meanwhile is not refused: its request waits for
// the index and is answered from the cache. Real process, real index file, real HTTP.
import { appendFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { line } from '../../src-main/store/index-journal.js';
import { serve, upstreamEnv } from '../support/cli.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, type FixtureRelease } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir } from '../support/mirror.js';

let upstream: FakeUpstream;
let release: FixtureRelease;
let dataDir: string;
const tarball = () => `/tarballs/${release.name}-${release.version}.tar`;
const env = () => upstreamEnv(upstream.url, { HEXHUB_LOG_LEVEL: 'info' });
const events = (stderr: string) =>
  stderr
    .split('\n')
    .filter((text) => text.startsWith('{'))
    .map((text) => JSON.parse(text) as { event?: string; entries?: number; loadMs?: number });

beforeAll(async () => {
  const repo = new FixtureRepo();
  release = await repo.publish({ name: 'early_bird', version: '1.0.0' });
  upstream = await startFakeUpstream(repo);
  dataDir = await mkdtemp(join(tmpdir(), 'hexhub-listen-early-'));
  const first = await serve(['--port', '0', '--data-dir', dataDir], env());
  expect((await httpGet(first.url, tarball())).headers['x-hexhub-cache']).toBe('MISS');
  first.child.kill('SIGTERM');
  await first.exited;
  // 60,000 more releases in the index (no files: the background reconciliation drops them
  // after start-up), so reading it takes long enough for a request to arrive meanwhile.
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) {
    const [name, version] = [`filler_${i >> 3}`, `1.${i & 7}.0`];
    lines.push(
      line.put(`tarballs/${name}-${version}.tar`, {
        kind: 'tarball',
        package: name,
        version,
        size: 1,
        sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        fetchedAt: 1,
        validatedAt: 1,
        lastUsedAt: 1,
        hits: 0,
      }),
    );
  }
  await appendFile(join(dataDir, 'index.jsonl'), lines.join(''));
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  if (dataDir) await removeDir(dataDir);
});

describe('a request that arrives while the index is being read', () => {
  it('waits for it and is served from the cache, not refused and not fetched again', async () => {
    const server = await serve(['--port', '0', '--data-dir', dataDir], env());
    try {
      // Sent the moment the listening line appears.
      const reply = await httpGet(server.url, tarball());
      expect(reply.status).toBe(200);
      expect(reply.headers['x-hexhub-cache']).toBe('HIT');
      expect(reply.body.equals(release.bytes)).toBe(true);
      expect(upstream.countRequests(tarball())).toBe(1);
      // It listened first, then read the index; the request above came before the index was read.
      const seen = events(server.stderr());
      const listening = seen.findIndex((e) => e.event === 'listening');
      const ready = seen.findIndex((e) => e.event === 'ready');
      expect(listening).toBeGreaterThanOrEqual(0);
      expect(ready).toBeGreaterThan(listening);
      expect(seen[ready]!.entries).toBeGreaterThan(60_000);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 60_000);
});
