// A cache larger than memory: with the hot cache given no room at all (HEXHUB_HOT_CACHE=0),
// every warm hit is read off disk through a kept descriptor into a pooled buffer
// (server/warm-tarball.ts, store/open-files.ts). The bytes must be right under concurrency,
// the descriptors bounded, and a file damaged under a kept descriptor never served.
import { createHash } from 'node:crypto';
import { readdir, readlink, truncate } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src-main/store/keys.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { FixtureRepo, type FixtureRelease } from '../support/hex-fixtures.js';
import { httpGet } from '../support/http.js';
import { removeDir, startMirror, type TestMirror } from '../support/mirror.js';
import { publishSized } from '../support/sized-fixtures.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let repo: FixtureRepo;
let upstream: FakeUpstream;
let mirror: TestMirror | undefined;
const sized: FixtureRelease[] = [];
const many: FixtureRelease[] = [];

beforeAll(async () => {
  repo = new FixtureRepo();
  for (let i = 0; i < 12; i++) sized.push(await publishSized(repo, `sized_${i % 4}`, `1.${i}.0`, 20_000 + i * 60_000, 700 + i));
  for (let i = 0; i < 300; i++) many.push(await repo.publish({ name: `many_${i % 30}`, version: `0.${Math.floor(i / 30)}.0` }, { docs: false }));
  upstream = await startFakeUpstream(repo);
});

afterAll(async () => {
  await upstream.close();
});

afterEach(async () => {
  if (!mirror) return;
  await mirror.stop();
  await removeDir(mirror.dataDir);
  mirror = undefined;
});

const path = (r: FixtureRelease) => `/tarballs/${r.name}-${r.version}.tar`;

/** Descriptors this process holds on files under `dir`. */
async function descriptorsUnder(dir: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')).startsWith(dir)) count++;
  return count;
}

describe('with a cache larger than memory (no hot cache)', () => {
  it('serves warm hits off disk: the right bytes to 60 concurrent requests, all HITs, nothing asked upstream', async () => {
    mirror = await startMirror(upstream.url, { HEXHUB_HOT_CACHE: '0' });
    for (const r of sized) expect((await httpGet(mirror.url, path(r))).status).toBe(200);
    upstream.resetRequests();
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => httpGet(mirror!.url, path(sized[i % sized.length]!))));
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.headers['x-hexhub-cache']).toBe('HIT');
      expect(sha256(reply.body)).toBe(sized[i % sized.length]!.outerChecksum);
    });
    expect(upstream.countRequests('/tarballs/')).toBe(0);
    expect(mirror.engine.store.hot.size).toBe(0);
  });

  it('never serves a file cut short under a kept descriptor: it is dropped and fetched again', async () => {
    mirror = await startMirror(upstream.url, { HEXHUB_HOT_CACHE: '0' });
    const release = sized[5]!;
    await httpGet(mirror.url, path(release));
    // Served once off disk, so its descriptor is kept: the cut shows through it (same file).
    expect(sha256((await httpGet(mirror.url, path(release))).body)).toBe(release.outerChecksum);
    await truncate(mirror.engine.store.path(keys.tarball(release.name, release.version)), 1000);
    upstream.resetRequests();
    const reply = await httpGet(mirror.url, path(release));
    expect(reply.status).toBe(200);
    expect(sha256(reply.body)).toBe(release.outerChecksum);
    expect(upstream.countRequests('/tarballs/')).toBe(1);
    expect(mirror.logs.filter((l) => l.event === 'damaged_object')).toHaveLength(1);
    expect(sha256((await httpGet(mirror.url, path(release))).body)).toBe(release.outerChecksum);
  });

  it('keeps at most 256 descriptors open however many files it serves, and closes them when it stops', async () => {
    mirror = await startMirror(upstream.url, { HEXHUB_HOT_CACHE: '0' });
    for (const r of many) await httpGet(mirror.url, path(r));
    for (const r of many) expect((await httpGet(mirror.url, path(r))).headers['x-hexhub-cache']).toBe('HIT');
    const open = await descriptorsUnder(mirror.dataDir);
    expect(open).toBeGreaterThan(0);
    expect(open).toBeLessThanOrEqual(256);
    await mirror.stop();
    expect(await descriptorsUnder(mirror.dataDir)).toBe(0);
  });
});
